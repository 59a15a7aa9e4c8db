// Issue 17 item 4: a training job gets a token of its own, not the admin token. It logs runs and registers versions on
// the embedded registry, gets 403 on the platform's admin API, stops working when the job ends, and is never logged.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";

let p: TestPlatform;
let tmp = "";
const logged: string[] = [];

// The job: hand its MLFLOW_TRACKING_TOKEN to the test (through a 0600 file in the test's temp dir), then wait until
// released. It prints nothing: whatever shows up in the logs was written by the platform.
const JOB = `
const fs = require("node:fs");
fs.writeFileSync(process.env.TOKEN_OUT, JSON.stringify({ token: process.env.MLFLOW_TRACKING_TOKEN ?? "", uri: process.env.MLFLOW_TRACKING_URI ?? "" }), { mode: 0o600 });
const timer = setInterval(() => { if (fs.existsSync(process.env.RELEASE)) { clearInterval(timer); process.exit(0); } }, 50);
`;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-job-token-"));
  fs.writeFileSync(path.join(tmp, "job.cjs"), JOB);
  // Capture every log line the platform writes (debug level: the most it ever says).
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    logged.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  p = await startTestPlatform({ FLYWHEEL_LOG_LEVEL: "debug" });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await p?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Answer = { status: number; body: Record<string, unknown> };
async function as(token: string, method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${p.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: Object(parsed) };
}

describe("a training job's registry token", () => {
  it("is its own, reaches the registry only, dies with the job, and is never logged", async () => {
    const out = path.join(tmp, "token.json");
    const release = path.join(tmp, "release");
    const spec = { model: "tokened", command: [process.execPath, path.join(tmp, "job.cjs")], env: { TOKEN_OUT: out, RELEASE: release }, timeoutSeconds: 120 };
    const admin = p.token ?? "";
    const submitted = await as(admin, "POST", "/api/v1/jobs", spec);
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const jobId = String(submitted.body.jobId);

    const seen = await until("the job's token", () => (fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as { token: string; uri: string }) : undefined), 60_000);
    const token = seen.token;
    expect(token).toMatch(/^fwjob_/);
    expect(token).not.toBe(admin);
    expect(seen.uri).toBe(p.url);

    // Registry: log a run, a metric, an artifact, register a version.
    const exp = await as(token, "POST", "/api/2.0/mlflow/experiments/create", { name: "tokened-exp" });
    expect(exp.status, JSON.stringify(exp.body)).toBe(200);
    const run = await as(token, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: exp.body.experiment_id });
    expect(run.status).toBe(200);
    const runId = String(Object(Object(run.body.run).info).run_id);
    expect((await as(token, "POST", "/api/2.0/mlflow/runs/log-metric", { run_id: runId, key: "acc", value: 0.9, timestamp: 1, step: 0 })).status).toBe(200);
    const artifact = await fetch(`${p.url}/api/2.0/mlflow-artifacts/artifacts/${exp.body.experiment_id}/${runId}/artifacts/model/MLmodel`, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: "flavors: {}\n" });
    expect(artifact.status).toBe(200);
    expect((await as(token, "POST", "/api/2.0/mlflow/registered-models/create", { name: "tokened" })).status).toBe(200);
    const version = await as(token, "POST", "/api/2.0/mlflow/model-versions/create", { name: "tokened", source: `runs:/${runId}/model`, run_id: runId });
    expect(version.status, JSON.stringify(version.body)).toBe(200);
    // MLflow clients configured with username/password send it as basic auth.
    const basic = Buffer.from(`job:${token}`).toString("base64");
    expect((await as(token, "GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", undefined, { authorization: `Basic ${basic}` })).status).toBe(200);

    // Never the platform's admin API, nor the UI.
    expect((await as(token, "GET", "/api/v1/jobs")).status).toBe(403);
    expect((await as(token, "POST", "/api/v1/jobs", spec)).status).toBe(403);
    expect((await as(token, "POST", `/api/v1/jobs/${jobId}/cancel`)).status).toBe(403);
    expect((await as(token, "GET", "/api/v1/deployments")).status).toBe(403);
    expect((await as(token, "POST", "/events", { specversion: "1.0", id: "x", source: "/t", type: "dev.flywheel.training.requested", data: spec }, { "content-type": "application/cloudevents+json" })).status).toBe(403);
    expect((await as(token, "GET", "/")).status).toBe(403);
    expect((await as(token, "POST", "/training", undefined, { "content-type": "application/x-www-form-urlencoded" })).status).toBe(403);

    // The job ends: its token stops working at once.
    fs.writeFileSync(release, "");
    await until("the job to finish", async () => ((await as(admin, "GET", `/api/v1/jobs/${jobId}`)).body.state === "succeeded" ? true : undefined), 60_000);
    const after = await as(token, "GET", "/api/2.0/mlflow/experiments/get?experiment_id=0");
    expect(after.status).toBe(401);
    expect((await as(token, "POST", "/api/2.0/mlflow/runs/create", { experiment_id: exp.body.experiment_id })).status).toBe(401);

    // Nothing the platform logged (at debug level) nor the job's own log holds the token.
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.join("").includes(token)).toBe(false);
    expect(logged.join("").includes(token.slice("fwjob_".length))).toBe(false);
    const jobLog = path.join(p.dataDir, "training", "jobs", jobId, "rank-0.log");
    expect(fs.existsSync(jobLog) ? fs.readFileSync(jobLog, "utf8").includes(token) : false).toBe(false);
  }, 120_000);
});
