// E2E (issue 13, step 4): canaries on the local backend decided by real Prometheus. The embedded platform runs with
// FLYWHEEL_PROMETHEUS_URL; Prometheus scrapes its infer's per-candidate series every second; deploy-model's canary
// check (the PingSource's event, through the broker) queries success rate and p99 per candidate over the canary's
// window. A good candidate is promoted; a candidate whose model fails every request (HTTP 500) is rolled back. Each
// decision is an event with the numbers it was taken on.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModelDir } from "../../../examples/iris-node/artifacts.ts";
import { DEFAULT_PARAMS, run } from "../../../examples/iris-node/train.ts";
import { SAMPLE_FLOWER } from "../../../platform/cli/commands/demo.ts";
import { DEFAULT_TRIGGERS_FILE } from "../../../platform/eventing/triggers.ts";
import { PING_EVENT_TYPE } from "../../../platform/events/index.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { faultyIrisOnnx } from "../../support/faulty-onnx.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";
import { freePort, startPrometheus, testRules, type Server } from "./servers.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-canary-e2e-"));
const DECIDE_AFTER = 20;
let p: TestPlatform | undefined;
let prom: Server | undefined;

interface EventRow {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

interface Numbers {
  readonly deployment: string;
  readonly version: string;
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms?: number;
}

interface Evidence {
  readonly source: string;
  readonly windowSeconds: number;
  readonly candidate: Numbers;
  readonly stable: Numbers;
}

function platform(): TestPlatform {
  if (!p) throw new Error("platform not started");
  return p;
}

async function events(type: string): Promise<EventRow[]> {
  return (await platform().api.request<{ events: EventRow[] }>("GET", `/api/v1/events?type=${type}&limit=1000`)).events;
}

async function emit(type: string, data: unknown, source = "/test"): Promise<void> {
  const r = await fetch(`${platform().url}/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${platform().token}`, "content-type": "application/json", "ce-specversion": "1.0", "ce-type": type, "ce-source": source, "ce-id": randomUUID() },
    body: JSON.stringify(data),
  });
  expect(r.status, await r.text()).toBeLessThan(300);
}

/** As a training job logs a model: a run, its artifacts uploaded through the MLflow API, a version of its model dir. */
async function register(version: string, modelDir: string): Promise<void> {
  const c = new MlflowClient({ trackingUri: platform().url, token: platform().token });
  const exp = await c.getOrCreateExperiment("canary-e2e");
  const r = await c.createRun({ experimentId: exp.experiment_id });
  await c.uploadArtifacts(r.info.artifact_uri, modelDir, "model");
  const created = await c.createModelVersion({ name: "iris", source: `runs:/${r.info.run_id}/model`, runId: r.info.run_id });
  expect(created.version).toBe(version);
}

/** Requests to the deployment until the canary has decided; the canary check ticks as the PingSource would. */
async function driveUntilDecided(candidateVersion: string): Promise<{ decided: EventRow; statuses: number[] }> {
  const statuses: number[] = [];
  const decided = await until(
    `canary of v${candidateVersion} decided`,
    async () => {
      for (let i = 0; i < 10; i++) {
        const r = await platform().api.raw("POST", "/infer/iris", JSON.stringify(SAMPLE_FLOWER), { "content-type": "application/json" });
        statuses.push(r.status);
        await r.arrayBuffer();
      }
      await emit(PING_EVENT_TYPE, { check: "canary" }, "/apis/v1/namespaces/flywheel/pingsources/deploy-model-canary-check");
      const done = [...(await events("dev.flywheel.deployment.promoted")), ...(await events("dev.flywheel.deployment.rolled_back"))];
      return done.find((e) => (e.data.canary as Evidence | undefined)?.candidate.version === candidateVersion);
    },
    120_000,
    500,
  );
  return { decided, statuses };
}

beforeAll(async () => {
  const models = path.join(dir, "models");
  const good1 = run({ ...DEFAULT_PARAMS, epochs: 60 }, path.join(models, "v1")).outDir;
  const good2 = run({ ...DEFAULT_PARAMS, epochs: 80, seed: 7 }, path.join(models, "v2")).outDir;
  const bad3 = path.join(models, "v3");
  writeModelDir(bad3, faultyIrisOnnx(), new Date());
  fs.writeFileSync(path.join(dir, "policies.yaml"), `models:\n  iris:\n    rollout: {strategy: canary, canaryPercent: 50, decideAfterRequests: ${DECIDE_AFTER}, decideAfterMinutes: 10, maxErrorRateIncrease: 0.05, maxLatencyRatio: 20}\n`);
  // The shipped routing plus the cluster's canary-check PingSource -> deploy-model (here the test sends its ticks).
  const triggers = YAML.parse(fs.readFileSync(DEFAULT_TRIGGERS_FILE, "utf8")) as { triggers: unknown[] };
  triggers.triggers.push({ name: "deploy-model-canary-check", filters: [{ exact: { type: PING_EVENT_TYPE } }], subscriber: { ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "deploy-model" } } });
  fs.writeFileSync(path.join(dir, "triggers.yaml"), YAML.stringify(triggers));
  const promPort = await freePort();
  p = await startTestPlatform(
    {
      FLYWHEEL_PROMETHEUS_URL: `http://127.0.0.1:${promPort}`,
      FLYWHEEL_POLICIES_FILE: path.join(dir, "policies.yaml"),
      FLYWHEEL_TRIGGERS_FILE: path.join(dir, "triggers.yaml"),
    },
    path.join(dir, "data"),
  );
  fs.mkdirSync(path.join(dir, "prom"));
  prom = await startPrometheus(path.join(dir, "prom"), { target: new URL(p.url).host, rules: testRules(dir, "1s"), interval: "1s", port: promPort });
  await p.api.request("POST", "/api/2.0/mlflow/registered-models/create", { name: "iris" });
  await register("1", good1);
  await register("2", good2);
  await register("3", bad3);
  expect((await p.api.raw("POST", "/api/v1/deployments", JSON.stringify({ kind: "model", name: "iris", model: "iris", version: "1" }), { "content-type": "application/json" })).status).toBeLessThan(300);
  await until("iris v1 serving", async () => ((await p?.api.raw("POST", "/infer/iris", JSON.stringify(SAMPLE_FLOWER), { "content-type": "application/json" }))?.status === 200 ? true : undefined), 60_000, 200);
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  await p?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("canary decisions from real Prometheus (local backend)", () => {
  it("promotes a good candidate on Prometheus' numbers", async () => {
    await emit("dev.flywheel.model.promoted", { model: "iris", version: "2", cause: "manual" });
    await until("canary of v2 started", async () => (await events("dev.flywheel.deployment.ready")).find((e) => e.data.name === "iris" && e.data.reason === "CanaryStarted"), 60_000, 250);
    const { decided, statuses } = await driveUntilDecided("2");
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(decided.type).toBe("dev.flywheel.deployment.promoted");
    expect(decided.data).toMatchObject({ name: "iris", kind: "model", version: "2", reason: "CanaryPassed" });
    const ev = decided.data.canary as Evidence;
    expect(ev.source).toBe("prometheus");
    expect(ev.windowSeconds).toBeGreaterThan(0);
    expect(ev.candidate).toMatchObject({ deployment: "iris-v2", version: "2", errors: 0 });
    expect(ev.stable).toMatchObject({ deployment: "iris-v1", version: "1", errors: 0 });
    expect(ev.candidate.requests).toBeGreaterThanOrEqual(DECIDE_AFTER);
    expect(ev.candidate.p99Ms).toBeGreaterThan(0);
    expect(ev.stable.p99Ms).toBeGreaterThan(0);
    // About 30 requests per side: latency is judged on their median, where one slow request cannot decide.
    expect(String(decided.data.message)).toMatch(/\(prometheus\): success rate 100\.00% vs 100\.00%, p50 [\d.]+ ms vs [\d.]+ ms$/);
    // The name serves v2 alone now.
    const served = await platform().api.request<{ version?: string }>("POST", "/infer/iris", SAMPLE_FLOWER);
    expect(served.version).toBe("2");
  }, 180_000);

  it("rolls back a candidate that returns errors, on Prometheus' numbers", async () => {
    await emit("dev.flywheel.model.promoted", { model: "iris", version: "3", cause: "manual" });
    await until("canary of v3 started", async () => (await events("dev.flywheel.deployment.ready")).filter((e) => e.data.name === "iris" && e.data.reason === "CanaryStarted").length >= 2 ? true : undefined, 60_000, 250);
    const { decided, statuses } = await driveUntilDecided("3");
    expect(statuses.some((s) => s >= 500)).toBe(true);
    expect(decided.type).toBe("dev.flywheel.deployment.rolled_back");
    expect(decided.data).toMatchObject({ name: "iris", kind: "model", version: "2", reason: "CanaryFailed" });
    const ev = decided.data.canary as Evidence;
    expect(ev.source).toBe("prometheus");
    expect(ev.candidate).toMatchObject({ deployment: "iris-v3", version: "3" });
    expect(ev.candidate.errors).toBeGreaterThan(0);
    expect(ev.candidate.errors).toBe(ev.candidate.requests);
    expect(ev.stable).toMatchObject({ deployment: "iris-v2", version: "2", errors: 0 });
    expect(String(decided.data.message)).toMatch(/^error rate increase .* \(prometheus\): success rate 0\.00% vs 100\.00%, p50 /);
    // Back on v2 only: every request answers again.
    for (let i = 0; i < 5; i++) {
      expect((await platform().api.raw("POST", "/infer/iris", JSON.stringify(SAMPLE_FLOWER), { "content-type": "application/json" })).status).toBe(200);
    }
  }, 180_000);
});
