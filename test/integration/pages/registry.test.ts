// The UI over the real embedded platform (registry, broker, serving) through app.request(): the adapters map
// MlflowClient pages and the broker's event log correctly, and sorting/paging reach the registry's SQL.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbedded } from "../../../platform/app/start.ts";
import type { StartedPlatform } from "../../../platform/app/start.ts";

const TOKEN = "it-admin-token-0123456789";
let p: StartedPlatform;
let expId = "";
const auth = { authorization: `Bearer ${TOKEN}`, accept: "text/html" };

beforeAll(async () => {
  p = await startEmbedded({
    env: { FLYWHEEL_LOG_LEVEL: "error", FLYWHEEL_AUTH_TOKEN: TOKEN, PATH: process.env.PATH, HOME: process.env.HOME },
    port: 0,
    host: "127.0.0.1",
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-ui-it-")),
    quiet: true,
  });
  const m = p.platform.mlflow;
  expId = await m.createExperiment("ui-it");
  for (let i = 0; i < 60; i++) {
    const run = await m.createRun({ experimentId: expId, runName: `r-${String(i).padStart(2, "0")}`, startTime: 1_700_000_000_000 + i });
    await m.logBatch(run.info.run_id, { metrics: [{ key: "accuracy", value: (i * 37) % 60 / 60, timestamp: 1, step: 0 }, { key: "accuracy", value: 0.1, timestamp: 0, step: -1 }].reverse(), params: { lr: String(i) } });
  }
}, 60_000);
afterAll(async () => {
  await p?.stop();
});

const get = async (url: string): Promise<{ status: number; html: string }> => {
  const res = await p.platform.app.request(url, { headers: auth });
  return { status: res.status, html: await res.text() };
};

describe("UI pages over the embedded registry", () => {
  it("lists the experiment", async () => {
    const { status, html } = await get("/registry");
    expect(status).toBe(200);
    expect(html).toContain(`<a href="/registry/experiments/${expId}">ui-it</a>`);
  });

  it("sorts runs by a metric in the registry and pages with its token", async () => {
    const first = await get(`/registry/experiments/${expId}?sort=metrics.accuracy&dir=DESC&limit=25`);
    expect(first.status).toBe(200);
    const names = [...first.html.matchAll(/href="\/registry\/runs\/[0-9a-f]+">(r-\d+)<\/a>/g)].map((m) => m[1]);
    expect(names).toHaveLength(25);
    // accuracy = (i*37 mod 60)/60 is a permutation of 0..59 over 60 runs: the best is i with i*37 ≡ 59 (mod 60): 37⁻¹ ≡ 13, so i = 59·13 mod 60 = 47.
    expect(names[0]).toBe("r-47");
    const next = /href="([^"]*page_token=[^"]+)"/.exec(first.html)?.[1]?.replace(/&amp;/g, "&");
    expect(next).toBeDefined();
    const second = await get(next ?? "");
    const more = [...second.html.matchAll(/href="\/registry\/runs\/[0-9a-f]+">(r-\d+)<\/a>/g)].map((m) => m[1]);
    expect(more).toHaveLength(25);
    expect(more.some((n) => names.includes(n))).toBe(false);
  });

  it("shows a run's metric history as a chart", async () => {
    const page = await get(`/registry/experiments/${expId}?limit=1`);
    const runId = /href="\/registry\/runs\/([0-9a-f]+)"/.exec(page.html)?.[1] ?? "";
    const run = await get(`/registry/runs/${runId}`);
    expect(run.status).toBe(200);
    expect(run.html).toContain('aria-label="accuracy per step"');
    expect(run.html).toMatch(/data-points="2"/);
  });

  it("searches runs with MLflow's filter syntax in the registry, and shows a filter it refuses at the box", async () => {
    const hit = await get(`/registry/experiments/${expId}?filter=${encodeURIComponent("metrics.accuracy >= 0.5 and params.lr != '0'")}&limit=100`);
    expect(hit.status).toBe(200);
    // accuracy is a permutation of 0/60..59/60: 30 runs are >= 0.5, none of which is run 0 (accuracy 0).
    expect([...hit.html.matchAll(/href="\/registry\/runs\/[0-9a-f]+">r-\d+<\/a>/g)]).toHaveLength(30);
    const bad = await get(`/registry/experiments/${expId}?filter=${encodeURIComponent("metrics.accuracy >>> 1")}`);
    expect(bad.status).toBe(200);
    expect(bad.html).toMatch(/<p class="field-error" data-field="filter">[^<]+<\/p>/);
  });

  it("shows the registry's 404 for a missing run as a page", async () => {
    const { status, html } = await get("/registry/runs/0123456789abcdef0123456789abcdef");
    expect(status).toBe(404);
    expect(html).toContain("<h1>Not found</h1>");
  });

  it("shows broker events on the activity page", async () => {
    await p.platform.app.request("/training", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ model: "nothing", command: "/bin/true" }).toString(),
    });
    const { html } = await get("/activity");
    expect(html).toContain("training.requested");
  });
});
