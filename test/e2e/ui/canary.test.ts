// Issue 16's items a colleague found without a browser test, in Chromium on one embedded platform: a real canary's
// progress on the deployment page (rollout policy canary, v2 promoted next to v1), the artifact browser's CSV and image
// previews, the launch form's human validation wording, and the events type filter used through its form.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_PARAMS, run } from "../../../examples/iris-node/train.ts";
import { SAMPLE_FLOWER } from "../../../platform/cli/commands/demo.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { until } from "../../support/platform.ts";
import { ADMIN_TOKEN, useUiBrowser } from "../../support/ui-browser.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ui-canary-"));
const DECIDE_AFTER = 1000;
// Decided only after many requests or an hour, and nothing ticks the canary check here: it stays in progress.
fs.writeFileSync(path.join(dir, "policies.yaml"), `models:\n  iris:\n    rollout: {strategy: canary, canaryPercent: 50, decideAfterRequests: ${DECIDE_AFTER}, decideAfterMinutes: 60, maxErrorRateIncrease: 0.05, maxLatencyRatio: 20}\n`);
const ui = useUiBrowser({ javaScript: true, env: { FLYWHEEL_POLICIES_FILE: path.join(dir, "policies.yaml") } });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("canary progress, artifact previews, launch wording and the events filter in Chromium", () => {
  it("shows a running canary's progress and both arms' traffic on the deployment page", async () => {
    const { p, b, page, url } = ui;
    const c = new MlflowClient({ trackingUri: p.url, token: ADMIN_TOKEN });
    const exp = await c.getOrCreateExperiment("ui-canary");
    await p.api.request("POST", "/api/2.0/mlflow/registered-models/create", { name: "iris" });
    for (const [version, seed] of [["1", 1], ["2", 7]] as const) {
      const out = run({ ...DEFAULT_PARAMS, epochs: 40, seed }, path.join(dir, "models", `v${version}`)).outDir;
      const r = await c.createRun({ experimentId: exp.experiment_id });
      await c.uploadArtifacts(r.info.artifact_uri, out, "model");
      expect((await c.createModelVersion({ name: "iris", source: `runs:/${r.info.run_id}/model`, runId: r.info.run_id })).version).toBe(version);
    }
    const infer = async (): Promise<number> => {
      const r = await p.api.raw("POST", "/infer/iris", JSON.stringify(SAMPLE_FLOWER), { "content-type": "application/json" });
      await r.arrayBuffer();
      return r.status;
    };
    expect((await p.api.raw("POST", "/api/v1/deployments", JSON.stringify({ kind: "model", name: "iris", model: "iris", version: "1" }), { "content-type": "application/json" })).status).toBeLessThan(300);
    await until("iris v1 serving", async () => ((await infer()) === 200 ? true : undefined), 60_000, 200);
    // Promoting v2 starts the canary (the rollout policy), exactly as the gate or a person promoting it would.
    const promoted = await fetch(url("/events"), {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", "ce-specversion": "1.0", "ce-type": "dev.flywheel.model.promoted", "ce-source": "/test", "ce-id": randomUUID() },
      body: JSON.stringify({ model: "iris", version: "2", cause: "manual" }),
    });
    expect(promoted.status).toBeLessThan(300);
    await until("canary of v2 started", async () => {
      const { events } = await p.api.request<{ events: { data: Record<string, unknown> }[] }>("GET", "/api/v1/events?type=dev.flywheel.deployment.ready&limit=100");
      return events.find((e) => e.data.name === "iris" && e.data.reason === "CanaryStarted");
    }, 60_000, 250);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push(await infer());
    expect(statuses.every((s) => s === 200)).toBe(true);

    await ui.login("/deployments/iris");
    const progress = (await page.locator('label[for="canary-progress"]').textContent()) ?? "";
    const m = /^Progress to the decision: (\d+)% \((\d+)\/(\d+) requests, (\d+\.\d)\/60 min\)$/.exec(progress.trim());
    expect(m, progress).not.toBeNull();
    const [, percent, reqs, of, mins] = m ?? [];
    const candidateReqs = Number(await page.locator('tr[data-candidate="iris-v2"] td:nth-child(3)').textContent());
    const stableReqs = Number(await page.locator('tr[data-candidate="iris-v1"] td:nth-child(3)').textContent());
    // The two arms shared the 30 requests; the progress counts the candidate's, against decideAfterRequests.
    expect(candidateReqs + stableReqs).toBe(30);
    expect(candidateReqs).toBeGreaterThan(0);
    expect(stableReqs).toBeGreaterThan(0);
    expect([Number(reqs), Number(of)]).toEqual([candidateReqs, DECIDE_AFTER]);
    expect(Number(mins)).toBeLessThan(5);
    expect(Number(percent)).toBe(Math.round(Math.max(candidateReqs / DECIDE_AFTER, Number(mins) / 60) * 100));
    expect(await page.locator("#canary-progress").getAttribute("value")).toBe(percent);
    expect(await page.locator("#canary").textContent()).toContain("v2 gets 50% of traffic next to v1");
    expect(await page.locator("#traffic-table tbody tr td:nth-child(2)").allTextContents()).toEqual(["50%", "50%"]);
    expect(await page.locator('tr[data-candidate="iris-v2"] .badge').textContent()).toBe("candidate");
    expect(await page.locator('tr[data-candidate="iris-v1"] .badge').textContent()).toBe("stable");
    await b.shot("canary-01-progress");
  }, 150_000);

  it("previews a run's CSV as a table, its text as text and its PNG as an image", async () => {
    const { p, b, page, url } = ui;
    const c = new MlflowClient({ trackingUri: p.url, token: ADMIN_TOKEN });
    const exp = await c.getOrCreateExperiment("ui-previews");
    const r = await c.createRun({ experimentId: exp.experiment_id });
    const files = path.join(dir, "preview-artifacts");
    fs.mkdirSync(files, { recursive: true });
    fs.writeFileSync(path.join(files, "predictions.csv"), 'id,label,"note, quoted"\n1,setosa,"a, b"\n2,virginica,c\n');
    fs.writeFileSync(path.join(files, "notes.txt"), "trained on the base split\n<b>not markup</b>\n");
    // A real PNG: Chromium's own screenshot of the page it shows.
    const png = await page.screenshot({ clip: { x: 0, y: 0, width: 40, height: 30 } });
    fs.writeFileSync(path.join(files, "confusion.png"), png);
    await c.uploadArtifacts(r.info.artifact_uri, files);
    const runId = r.info.run_id;

    await page.goto(url(`/registry/runs/${runId}/artifacts`));
    await page.click('tr[data-artifact="predictions.csv"] td:first-child a');
    await page.waitForURL(/artifacts\/view\?path=predictions\.csv/);
    const csv = page.locator('#artifact-preview table[data-preview="csv"]');
    expect(await csv.locator("thead th").allTextContents()).toEqual(["id", "label", "note, quoted"]);
    expect(await csv.locator("tbody tr").evaluateAll((rows) => rows.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent)))).toEqual([["1", "setosa", "a, b"], ["2", "virginica", "c"]]);
    await b.shot("canary-02-csv-preview");

    // Text: shown as it is (escaped, never rendered as HTML).
    await page.goto(url(`/registry/runs/${runId}/artifacts`));
    await page.click('tr[data-artifact="notes.txt"] td:first-child a');
    await page.waitForURL(/artifacts\/view\?path=notes\.txt/);
    expect(await page.locator('#artifact-preview pre[data-preview="text"]').textContent()).toBe("trained on the base split\n<b>not markup</b>\n");
    expect(await page.locator("#artifact-preview b").count()).toBe(0);

    await page.goto(url(`/registry/runs/${runId}/artifacts`));
    await page.click('tr[data-artifact="confusion.png"] td:first-child a');
    await page.waitForURL(/artifacts\/view\?path=confusion\.png/);
    const img = page.locator("#artifact-preview img.artifact-image");
    expect(await img.getAttribute("alt")).toBe("artifact confusion.png");
    await until("the image decoded", async () => ((await img.evaluate((el) => (el instanceof HTMLImageElement && el.complete ? el.naturalWidth : 0))) > 0 ? true : undefined), 10_000, 100);
    expect(await img.evaluate((el) => (el instanceof HTMLImageElement ? [el.naturalWidth, el.naturalHeight] : []))).toEqual([40, 30]);
    await b.shot("canary-03-image-preview");
  }, 60_000);

  it("words the launch form's validation for humans", async () => {
    const { b, page, url } = ui;
    await page.goto(url("/training?example=iris-node"));
    await page.selectOption("#kind", "ddp");
    await page.fill("#replicas", "0");
    // The browser's own min="1" check would stop the submit; the server's message is what is under test.
    await page.locator("#replicas").evaluate((el) => el.closest("form")?.setAttribute("novalidate", ""));
    await page.click("#launch");
    const error = page.locator('.field-error[data-field="replicas"]');
    expect((await error.textContent())?.trim()).toBe("must be a positive whole number");
    expect(await page.inputValue("#replicas")).toBe("0");
    await b.shot("canary-04-launch-validation");
  }, 30_000);

  it("filters events by the short type name typed into the filter form", async () => {
    const { b, page, url } = ui;
    await page.goto(url("/activity"));
    const typeCells = page.locator("#events tbody tr td:nth-child(2)");
    // Unfiltered, the canary's walk left other types too, so the filter has something to remove.
    expect((await typeCells.allTextContents()).some((t) => !t.includes("model.promoted"))).toBe(true);
    await page.fill('input[name="type"]', "model.promoted");
    await page.click('button:has-text("Filter")');
    await page.waitForURL(/\/activity\?type=model\.promoted/);
    const types = await typeCells.allTextContents();
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((t) => t.includes("model.promoted"))).toBe(true);
    await b.shot("canary-05-events-filter");
  }, 30_000);
});
