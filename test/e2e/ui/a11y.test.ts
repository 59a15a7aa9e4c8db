// axe-core on every page of the UI in Chromium, after a real Iris training, promotion and deployment: no serious or
// critical violation. Counts per impact go to test-results/ui/axe.json.
import { describe, expect, it } from "vitest";
import { AxeReport, runAxe } from "./axe.ts";
import { ADMIN_TOKEN, useUiBrowser } from "../../support/ui-browser.ts";
import { irisCommand } from "./iris.ts";

const ui = useUiBrowser({ javaScript: true });

describe("accessibility", () => {
  it("has no serious or critical axe-core violation on any page", async () => {
    const { p, page } = ui;
    await page.goto(`${p.url}/login`);
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("button[type=submit]");
    await page.waitForURL(`${p.url}/`);

    await page.goto(`${p.url}/training`);
    await page.fill("#model", "iris");
    await page.fill("#command", irisCommand());
    await page.fill('input[name="param_key_0"]', "epochs");
    await page.fill('input[name="param_value_0"]', "60");
    await page.click("#launch");
    await page.waitForURL(/\/training\/jobs\/iris-[0-9a-f]+\?requested=1$/);
    const jobPath = new URL(page.url()).pathname;
    await page.waitForSelector('#job-live[data-state="succeeded"]', { timeout: 90_000 });
    for (let i = 0; i < 120 && !(await p.platform.serving.get("iris")); i++) await page.waitForTimeout(500);
    const version = await p.platform.registry.getModelVersion("iris", "1");
    const runId = version.runId ?? "";
    const experimentId = (await p.platform.mlflow.getRun(runId)).info.experiment_id;
    // A second run (re-run of the same spec) for the comparison page.
    await page.goto(`${p.url}${jobPath}`);
    await page.click("#rerun");
    await page.waitForURL(/\?requested=1$/);
    await page.waitForSelector('#job-live[data-state="succeeded"]', { timeout: 90_000 });
    for (let i = 0; i < 60 && (await p.platform.registry.searchModelVersions("iris")).length < 2; i++) await page.waitForTimeout(500);
    const run2 = (await p.platform.registry.getModelVersion("iris", "2")).runId ?? "";
    const eventId = p.platform.broker.recentEvents({ limit: 1 })[0]?.id ?? "";

    const pages: [string, string][] = [
      ["home", "/"],
      ["launch", "/training"],
      ["jobs", "/training/jobs"],
      ["job", jobPath],
      ["experiments", "/registry"],
      ["runs", `/registry/experiments/${experimentId}`],
      ["run", `/registry/runs/${runId}`],
      ["models", "/models"],
      ["model", "/models/iris"],
      ["version", "/models/iris/versions/1"],
      ["deployments", "/deployments"],
      ["deploy-model", "/deployments/new?kind=model"],
      ["deploy-pipeline", "/deployments/new?kind=pipeline"],
      ["deploy-experiment", "/deployments/new?kind=experiment"],
      ["deployment", "/deployments/iris"],
      ["playground", "/playground?deployment=iris"],
      ["activity", "/activity"],
      ["event", `/activity/events/${eventId}`],
      ["compare", `/registry/compare?runs=${runId}&runs=${run2}`],
      ["artifacts", `/registry/runs/${runId}/artifacts`],
      ["artifact", `/registry/runs/${runId}/artifacts/view?path=metrics.json`],
      ["launch-example", "/training?example=iris-node"],
      ["confirm-promotion", ""],
    ];
    const report = new AxeReport();
    for (const [name, url] of pages) {
      if (name === "confirm-promotion") {
        // A POST result page: promote the version that is not champion, which asks first when it scores worse.
        await page.goto(`${p.url}/models/iris`);
        const promote = page.locator('#versions button:has-text("Promote")').first();
        if (!(await promote.count())) continue;
        await promote.click();
        await page.waitForLoadState("domcontentloaded");
        if (!(await page.locator("#confirm-promotion").count())) {
          // Not worse than the champion, so promoted straight away: a rollback always asks first.
          for (let i = 0; i < 60 && !(await page.locator("#rollback").count()); i++) {
            await page.waitForTimeout(500);
            await page.goto(`${p.url}/models/iris`);
          }
          await page.click("#rollback");
        }
        await page.waitForSelector("#confirm-promotion");
        report.add(name, await runAxe(page));
        continue;
      }
      await page.goto(`${p.url}${url}`);
      await page.waitForLoadState("domcontentloaded");
      report.add(name, await runAxe(page));
    }
    report.write("axe.json");
    console.log(`axe-core totals: ${JSON.stringify(report.totals())}`);
    expect(report.blocking()).toEqual([]);
  }, 240_000);
});
