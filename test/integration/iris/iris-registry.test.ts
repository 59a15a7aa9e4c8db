// The Iris trainer as a child process logs its own run to the embedded registry over HTTP: every epoch's training
// loss/accuracy as a metric history with steps, the held-out metrics at the last step, params, and run.json.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startHttpRegistry, type HttpRegistry } from "../registry/http-registry.ts";

const run = promisify(execFile);
let srv: HttpRegistry;
const out = fs.mkdtempSync(path.join(os.tmpdir(), "iris-registry-"));
beforeAll(async () => (srv = await startHttpRegistry()));
afterAll(async () => {
  await srv.close();
  fs.rmSync(out, { recursive: true, force: true });
});

const get = async (endpoint: string, q: Record<string, string>): Promise<Record<string, unknown>> => {
  const res = await fetch(`${srv.url}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(q).toString()}`);
  expect(res.status).toBe(200);
  const body: unknown = await res.json();
  return body && typeof body === "object" ? Object.fromEntries(Object.entries(body)) : {};
};

it("logs per-epoch history with log-batch steps and writes run.json for log-model", async () => {
  await run(process.execPath, ["--import", "tsx", path.resolve("examples/iris-node/train.ts")], {
    env: { PATH: process.env.PATH, FLYWHEEL_ARTIFACT_DIR: out, FLYWHEEL_PARAMS: JSON.stringify({ epochs: 40 }), FLYWHEEL_JOB_ID: "iris-job-1", MLFLOW_TRACKING_URI: srv.url, MLFLOW_EXPERIMENT_NAME: "iris" },
    timeout: 50_000,
  });
  const ref: unknown = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
  expect(ref).toMatchObject({ run_id: expect.any(String), experiment_id: expect.any(String) });
  const runId = ref && typeof ref === "object" && "run_id" in ref && typeof ref.run_id === "string" ? ref.run_id : "";
  const history = (await get("metrics/get-history", { run_id: runId, metric_key: "train_loss", max_results: "1000" })).metrics;
  expect(Array.isArray(history)).toBe(true);
  const steps = Array.isArray(history) ? history.map((m: unknown) => (m && typeof m === "object" && "step" in m ? Number(m.step) : NaN)) : [];
  // 40 epochs (1..40); the final value sits at the last step.
  expect(new Set(steps).size).toBe(40);
  expect(Math.min(...steps)).toBe(1);
  expect(Math.max(...steps)).toBe(40);
  const got = await get("runs/get", { run_id: runId });
  expect(JSON.stringify(got)).toContain('"key":"accuracy"');
  expect(JSON.stringify(got)).toContain('"status":"FINISHED"');
  expect(JSON.stringify(got)).toContain('{"key":"epochs","value":"40"}');
  const metrics: unknown = JSON.parse(fs.readFileSync(path.join(out, "metrics.json"), "utf8"));
  expect(metrics).toMatchObject({ accuracy: expect.any(Number) });
});
