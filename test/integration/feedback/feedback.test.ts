// Inference logging and feedback on the real embedded platform: signed request ids on every answer, sampled records
// on disk with the personal-data rule applied, feedback joined into labelled rows, live accuracy, and the 4xx cases.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, SAMPLE_FLOWER } from "../../../platform/cli/commands/demo.ts";
import { startTestPlatform, type TestPlatform } from "../../support/platform.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "feedback-"));
const policies = path.join(tmp, "policies.yaml");
fs.writeFileSync(
  policies,
  `defaults:
  gate: {metric: accuracy, floors: {accuracy: 0.8}}
deployments:
  iris: {logging: {sampleRate: 1, hash: [sepal_width], drop: [sepal_length]}}
  quiet: {logging: {sampleRate: 0}}
`,
);
let p: TestPlatform;

beforeAll(async () => {
  p = await startTestPlatform({ FLYWHEEL_POLICIES_FILE: policies });
  await runDemo(p.api, repoRoot, quiet, true);
  const accepted = await p.api.raw("POST", "/api/v1/deployments", { kind: "model", name: "quiet", model: "iris", version: "1" });
  expect(accepted.status).toBe(202);
  for (let i = 0; i < 100; i++) {
    if ((await p.api.raw("GET", "/api/v1/deployments/quiet")).ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 180_000);
afterAll(async () => {
  await p?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function infer(body: unknown, deployment = "iris"): Promise<{ id: string; body: Record<string, unknown> }> {
  const res = await p.api.raw("POST", `/infer/${deployment}`, body);
  expect(res.status).toBe(200);
  const json = (await res.json()) as Record<string, unknown>;
  return { id: res.headers.get("x-request-id") ?? "", body: json };
}
const feedback = (deployment: string, body: unknown) => p.api.raw("POST", `/feedback/${deployment}`, body);
const logDir = () => path.join(p.dataDir, "inference-log");

describe("inference logging", () => {
  it("every answer carries a signed request id, as a header and a field; a V2 client's own id is echoed", async () => {
    const a = await infer(SAMPLE_FLOWER);
    expect(a.id).toMatch(/^[0-9a-z]+-[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}$/);
    expect(a.body.requestId).toBe(a.id);
    const v2 = await infer({ id: "client-42", inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] });
    expect((v2.body.response as { id: string }).id).toBe("client-42");
    expect(v2.id).not.toBe("client-42");
    const raw = await p.api.raw("POST", "/v2/models/iris/infer", { id: "client-43", inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] });
    expect(raw.status).toBe(200);
    expect(((await raw.json()) as { id: string }).id).toBe("client-43");
    expect(raw.headers.get("x-request-id")).toMatch(/\.[A-Za-z0-9_-]{22}$/);
    const bad = await p.api.raw("POST", "/infer/iris", { nope: 1 });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-request-id")).toBeTruthy();
  });

  it("writes sampled records to a day partition with dropped and hashed fields", async () => {
    const a = await infer(SAMPLE_FLOWER);
    await new Promise((r) => setTimeout(r, 50));
    const day = new Date().toISOString().slice(0, 10);
    const lines = fs.readFileSync(path.join(logDir(), "requests", "iris", `${day}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { requestId: string; rows: Record<string, unknown>[] });
    const rec = lines.find((l) => l.requestId === a.id);
    expect(rec?.rows[0]).toMatchObject({ petal_length: expect.closeTo(1.4, 5), petal_width: expect.closeTo(0.2, 5) });
    expect(rec?.rows[0]).not.toHaveProperty("sepal_length");
    expect(String(rec?.rows[0]?.sepal_width)).toMatch(/^h:[0-9a-f]{32}$/);
  });

  it("reading and deleting the log needs a token; a data-scientist reads and deletes by time range", async () => {
    const anon = await fetch(`${p.url}/api/v1/inference-logs/iris`);
    expect(anon.status).toBe(401);
    const t0 = Date.now();
    await infer(SAMPLE_FLOWER);
    await new Promise((r) => setTimeout(r, 50));
    const read = await p.api.request<{ records: { time: number }[] }>("GET", `/api/v1/inference-logs/iris?from=${t0}`);
    expect(read.records.length).toBe(1);
    const del = await p.api.request<{ deleted: number }>("DELETE", `/api/v1/inference-logs/iris?from=${t0}`);
    expect(del.deleted).toBe(1);
    expect((await p.api.request<{ records: unknown[] }>("GET", `/api/v1/inference-logs/iris?from=${t0}`)).records).toEqual([]);
    expect((await p.api.raw("GET", "/api/v1/inference-logs/iris?from=yesterday")).status).toBe(400);
  });
});

describe("feedback", () => {
  it("joins labels with logged predictions, counts duplicates, and exports live accuracy", async () => {
    const right = await infer(SAMPLE_FLOWER);
    const wrong = await infer(SAMPLE_FLOWER);
    await new Promise((r) => setTimeout(r, 50));
    const res = await feedback("iris", { feedback: [{ requestId: right.id, label: "setosa" }, { requestId: wrong.id, label: "virginica" }] });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 2, matched: 2, unmatched: 0, duplicates: 0 });
    const again = await feedback("iris", [{ requestId: right.id, label: "setosa" }]);
    expect(await again.json()).toMatchObject({ matched: 0, duplicates: 1 });
    // A new feedback series is scraped at 0 first (increase() cannot count a start value); its labels follow next scrape.
    const first = await (await fetch(`${p.url}/metrics`)).text();
    expect(first).toMatch(/flywheel_model_feedback_total\{[^}]*outcome="incorrect"[^}]*\} 0/);
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_model_live_accuracy\{[^}]*model="iris"[^}]*version="1"[^}]*\} 0\.5/);
    expect(metrics).toMatch(/flywheel_model_feedback_total\{[^}]*outcome="incorrect"[^}]*\} 1/);
    expect(metrics).toMatch(/flywheel_model_feedback_total\{[^}]*outcome="correct"[^}]*\} 1/);
    const day = new Date().toISOString().slice(0, 10);
    const labelled = fs.readFileSync(path.join(logDir(), "labelled", "iris", `${day}.jsonl`), "utf8").trim().split("\n");
    expect(labelled).toHaveLength(2);
  });

  it("an issued but unsampled id is accepted as unmatched; a forged id is a 400 naming it", async () => {
    const q = await infer(SAMPLE_FLOWER, "quiet");
    const ok = await feedback("quiet", { requestId: q.id, label: "setosa" });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ matched: 0, unmatched: 1 });
    const forged = q.id.slice(0, -2) + (q.id.endsWith("AA") ? "BB" : "AA");
    const bad = await feedback("quiet", [{ requestId: q.id, label: "setosa" }, { requestId: forged, label: "setosa" }]);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("feedback[1].requestId");
    // An id is bound to its deployment.
    expect((await feedback("iris", { requestId: q.id, label: "setosa" })).status).toBe(400);
  });

  it("a wrong label type or an unknown class is a 400 naming the label, and stores nothing", async () => {
    const a = await infer(SAMPLE_FLOWER);
    await new Promise((r) => setTimeout(r, 50));
    const num = await feedback("iris", { requestId: a.id, label: 2 });
    expect(num.status).toBe(400);
    expect(JSON.stringify(await num.json())).toMatch(/label.*expected one of setosa, versicolor, virginica/);
    const both = await feedback("iris", { requestId: a.id });
    expect(both.status).toBe(400);
    expect((await feedback("iris", "not json")).status).toBe(400);
    const later = await feedback("iris", { requestId: a.id, label: "setosa" });
    expect(await later.json()).toMatchObject({ matched: 1, duplicates: 0 });
  });

  it("takes inference.feedback CloudEvents through the broker", async () => {
    const a = await infer(SAMPLE_FLOWER);
    await new Promise((r) => setTimeout(r, 50));
    const res = await p.api.raw("POST", "/events", { feedback: [{ requestId: a.id, label: "setosa" }], deployment: "iris" }, {
      "ce-specversion": "1.0", "ce-id": "fb-1", "ce-source": "/test", "ce-type": "dev.flywheel.inference.feedback", "content-type": "application/json",
    });
    expect(res.status).toBe(202);
    for (let i = 0; i < 100; i++) {
      const m = await (await fetch(`${p.url}/metrics`)).text();
      if (/flywheel_model_live_accuracy_samples\{[^}]*version="1"[^}]*\} 4/.test(m)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("feedback event was not applied");
  });
});
