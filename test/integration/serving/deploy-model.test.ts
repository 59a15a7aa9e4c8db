// deploy-model end to end on the embedded backend with real onnxruntime: replace, replay, canary promote/rollback
// driven by injected error rates, manual deploy/undeploy/rollback, and ignored model.logged.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudEvent } from "cloudevents";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, DEFAULT_PARAMS } from "../../../examples/iris-node/train.ts";
import { ValidationError } from "../../../platform/errors.ts";
import { buildEvent, parseEvent, type AnyCloudEvent, type EventDataInput, type EventName } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { LocalServingBackend } from "../../../platform/serving/local/backend.ts";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";
import { canaryTick, createDeployModelDeps, deployModelHandler, type CandidateStats, type DeployModelDeps } from "../../../functions/deploy-model/index.ts";
import { FakeRegistry } from "./fake-registry.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-model-"));
const POLICIES = parsePolicies(`
defaults: {rollout: {strategy: replace}}
models:
  canaried: {rollout: {strategy: canary, canaryPercent: 20, decideAfterRequests: 100, decideAfterMinutes: 5, maxErrorRateIncrease: 0.02, maxLatencyRatio: 2}}
`);

let n = 0;
const ev = <N extends EventName>(name: N, data: EventDataInput<N>, id = `cause-${++n}`): AnyCloudEvent => buildEvent(name, data, { source: "/test", id });

describe("deploy-model", () => {
  const registry = new FakeRegistry();
  const server = new EmbeddedV2Server({ registry: new Registry() });
  const backend = new LocalServingBackend({ server, stateDir: path.join(tmp, "state") });
  const emitted: AnyCloudEvent[] = [];
  let clock = 1_000_000;
  let stats: Record<string, CandidateStats> | undefined;
  let deps: DeployModelDeps;
  const x = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32" as const, data: [5.1, 3.5, 1.4, 0.2] }] };

  beforeAll(() => {
    const a = run({ ...DEFAULT_PARAMS, epochs: 60 }, path.join(tmp, "train-a")).outDir;
    const b = run({ ...DEFAULT_PARAMS, epochs: 80, seed: 7 }, path.join(tmp, "train-b")).outDir;
    for (const m of ["iris", "canaried"]) {
      registry.add(m, "1", a);
      registry.add(m, "2", b);
      registry.add(m, "3", a);
    }
    deps = createDeployModelDeps({
      bus: { emit: async (e) => void emitted.push(e) },
      log: createLogger("silent"),
      now: () => clock,
      registry,
      backends: { local: backend },
      defaultBackend: "local",
      policies: POLICIES,
      workDir: path.join(tmp, "work"),
      canaryStats: { stats: async () => stats },
    });
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const last = (): ReturnType<typeof parseEvent> => parseEvent(emitted.at(-1) as AnyCloudEvent);

  it("ignores model.logged: the gate decides", async () => {
    const out = await deployModelHandler(ev("model.logged", { model: "iris", version: "1", runId: "r", experimentId: "e", source: "s", flavor: "onnx", jobId: "j", trigger: { reason: "manual" } }), deps);
    expect(out.status).toBe("ignored");
    expect(emitted).toHaveLength(0);
  });

  it("replaces on model.promoted, serves it, and a replay is a no-op with the same event id", async () => {
    const promoted = ev("model.promoted", { model: "iris", version: "1", cause: "gate" });
    const out = await deployModelHandler(promoted, deps);
    expect(out.status).toBe("done");
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.ready", data: { name: "iris", kind: "model", backend: "local", model: "iris", version: "1", reason: "Promoted" } });
    const firstId = emitted.at(-1)?.id;
    const { response } = await server.infer("iris", undefined, x);
    expect(response.model_version).toBe("1");
    const downloads = registry.downloads;
    const again = await deployModelHandler(promoted, deps);
    expect(again.status).toBe("duplicate");
    expect(emitted.at(-1)?.id).toBe(firstId);
    expect(registry.downloads).toBe(downloads);
    await deployModelHandler(ev("model.promoted", { model: "iris", version: "2", cause: "gate" }), deps);
    expect((await server.infer("iris", undefined, x)).response.model_version).toBe("2");
    expect(server.models.versions("iris")).toEqual(["2"]);
  });

  it("starts a canary experiment and rolls back on an injected error-rate increase", async () => {
    await deployModelHandler(ev("model.promoted", { model: "canaried", version: "1", cause: "gate" }), deps);
    await registry.setAlias("canaried", "champion", "2");
    await deployModelHandler(ev("model.promoted", { model: "canaried", version: "2", previousVersion: "1", cause: "gate" }), deps);
    expect(last()).toMatchObject({ data: { name: "canaried", kind: "experiment", reason: "CanaryStarted" } });
    const st = await backend.get("canaried");
    expect(st?.spec).toMatchObject({ kind: "experiment", candidates: [{ name: "canaried-v1", weight: 80 }, { name: "canaried-v2", weight: 20 }], default: "canaried-v1" });
    expect((await deps.canaries.get("canaried"))?.candidate).toEqual({ deployment: "canaried-v2", version: "2" });
    // Real traffic goes through the router to both versions.
    const routes = new Set<string>();
    for (let i = 0; i < 60; i++) routes.add((await server.infer("canaried", undefined, x)).response.model_name);
    expect(routes).toEqual(new Set(["canaried-v1", "canaried-v2"]));
    // Not enough canary requests and not enough time yet: wait.
    stats = { "canaried-v1": { requests: 400, errors: 0, p50Ms: 1, p95Ms: 2 }, "canaried-v2": { requests: 50, errors: 10, p50Ms: 1, p95Ms: 2 } };
    expect(await canaryTick(deps)).toEqual([]);
    stats = { "canaried-v1": { requests: 400, errors: 4, p50Ms: 1, p95Ms: 2 }, "canaried-v2": { requests: 100, errors: 10, p50Ms: 1, p95Ms: 2 } };
    const [outcome] = await canaryTick(deps);
    expect(outcome?.detail).toMatch(/rollback \(error rate increase 9.00% > 2.00%/);
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.rolled_back", data: { name: "canaried", kind: "model", version: "1", reason: "CanaryFailed" } });
    // The decision event carries the numbers it was taken on.
    expect(last().data).toMatchObject({
      canary: { source: "in-process", candidate: { deployment: "canaried-v2", version: "2", requests: 100, errors: 10 }, stable: { deployment: "canaried-v1", requests: 400, errors: 4 } },
    });
    expect((await server.infer("canaried", undefined, x)).response.model_version).toBe("1");
    expect(await backend.get("canaried-v2")).toBeUndefined();
    expect(await backend.get("canaried-v1")).toBeUndefined();
    expect(registry.aliases.get("canaried")?.get("champion")).toBe("1");
    expect(await deps.canaries.get("canaried")).toBeUndefined();
  });

  it("promotes a healthy canary after the time limit even with few requests, judging their latency on p50", async () => {
    await deployModelHandler(ev("model.promoted", { model: "canaried", version: "3", previousVersion: "1", cause: "gate" }), deps);
    expect((await deps.canaries.get("canaried"))?.candidate.version).toBe("3");
    stats = { "canaried-v1": { requests: 40, errors: 1, p50Ms: 1, p95Ms: 4 }, "canaried-v3": { requests: 10, errors: 0, p50Ms: 1, p95Ms: 5 } };
    expect(await canaryTick(deps)).toEqual([]);
    clock += 6 * 60_000;
    // Knative's canary-check PingSource wakes deploy-model the same way the embedded timer does.
    const ping = new CloudEvent<unknown>({ specversion: "1.0", type: "dev.knative.sources.ping", source: "/apis/v1/namespaces/flywheel/pingsources/deploy-model-canary-check", id: "tick-1", datacontenttype: "application/json", data: { check: "canary" } });
    const outcome = await deployModelHandler(ping, deps);
    expect(outcome.detail).toBe("1 canary decision(s)");
    expect(emitted.at(-1)?.type).toBe("dev.flywheel.deployment.promoted");
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.promoted", data: { name: "canaried", kind: "model", version: "3", reason: "CanaryPassed" } });
    // 10 requests cannot place a p95: the median decides.
    expect(last().data).toMatchObject({ message: expect.stringMatching(/, p50 1\.0 ms vs 1\.0 ms$/) });
    expect((await server.infer("canaried", undefined, x)).response.model_version).toBe("3");
  });

  it("rolls back a canary whose p95 latency is too high (100 requests or more on each side)", async () => {
    await deployModelHandler(ev("model.promoted", { model: "canaried", version: "2", previousVersion: "3", cause: "gate" }), deps);
    stats = { "canaried-v3": { requests: 500, errors: 0, p50Ms: 1, p95Ms: 4 }, "canaried-v2": { requests: 150, errors: 0, p50Ms: 3, p95Ms: 9 } };
    const [outcome] = await canaryTick(deps);
    expect(outcome?.detail).toMatch(/rollback \(p95 latency ratio 2.25 > 2/);
  });

  it("supports a manual promote of a running canary through deployment.requested", async () => {
    await deployModelHandler(ev("model.promoted", { model: "canaried", version: "1", previousVersion: "3", cause: "gate" }), deps);
    await deployModelHandler(ev("deployment.requested", { action: "promote", name: "canaried" }), deps);
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.promoted", data: { version: "1", message: "manual promote requested" } });
  });

  it("deploys, rolls back and undeploys on deployment.requested", async () => {
    await deployModelHandler(ev("deployment.requested", { action: "deploy", spec: { kind: "model", name: "iris-b", model: "iris", version: "3" } }), deps);
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.ready", data: { name: "iris-b", version: "3", reason: "Requested" } });
    await deployModelHandler(ev("deployment.requested", { action: "rollback", name: "iris-b" }), deps);
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.rolled_back", data: { name: "iris-b", version: "2", reason: "ManualRollback" } });
    const err = await deployModelHandler(ev("deployment.requested", { action: "promote", name: "iris-b" }), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    await deployModelHandler(ev("deployment.requested", { action: "undeploy", name: "iris-b" }), deps);
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.removed", data: { name: "iris-b", reason: "Undeployed" } });
    expect(server.exists("iris-b")).toBe(false);
  });

  it("emits deployment.failed with the reason for an invalid deployment", async () => {
    await deployModelHandler(
      ev("deployment.requested", { action: "deploy", spec: { kind: "pipeline", name: "chain", steps: [{ name: "ghost" }], output: { steps: ["ghost"] } } }),
      deps,
    );
    expect(last()).toMatchObject({ type: "dev.flywheel.deployment.failed", data: { name: "chain", reason: "Invalid", message: expect.stringMatching(/unknown model ghost/) } });
  });
});

describe("canary numbers from the embedded router", () => {
  it("localCanaryStats reads the router's per-candidate tallies; no stats source means no automatic decision", async () => {
    const { localCanaryStats, canaryTick: tick } = await import("../../../functions/deploy-model/index.ts");
    const source = localCanaryStats({ stats: (name) => (name === "x" ? { a: { requests: 3, errors: 1, p50Ms: 1, p95Ms: 2 } } : undefined) });
    expect(await source.stats("x")).toEqual({ a: { requests: 3, errors: 1, p50Ms: 1, p95Ms: 2 } });
    expect(await source.stats("y")).toBeUndefined();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-none-"));
    const d = createDeployModelDeps({ bus: { emit: async () => undefined }, log: createLogger("silent"), now: () => 0, registry: new FakeRegistry(), backends: {}, defaultBackend: "local", policies: POLICIES, workDir: dir });
    await d.canaries.put({ name: "n", model: "n", backend: "local", stable: { deployment: "n-v1", version: "1" }, candidate: { deployment: "n-v2", version: "2" }, percent: 10, startedAt: -1e9, revision: "r", cause: { id: "c" }, policy: POLICIES.forModel("canaried").rollout });
    expect(await tick(d)).toEqual([]);
    expect(await d.canaries.get("n")).toBeDefined();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("deploy-model with an unknown registry model", () => {
  it("emits deployment.failed (ModelNotFound) instead of failing the event forever", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-missing-"));
    const out: AnyCloudEvent[] = [];
    const server = new EmbeddedV2Server({ registry: new Registry() });
    const d = createDeployModelDeps({
      bus: { emit: async (e) => void out.push(e) },
      log: createLogger("silent"),
      now: Date.now,
      registry: new FakeRegistry(),
      backends: { local: new LocalServingBackend({ server }) },
      defaultBackend: "local",
      policies: POLICIES,
      workDir: dir,
    });
    const res = await deployModelHandler(ev("deployment.requested", { action: "deploy", spec: { kind: "model", name: "ghost", model: "ghost", version: "4" } }), d);
    expect(res.status).toBe("done");
    expect(parseEvent(out[0] as AnyCloudEvent)).toMatchObject({ type: "dev.flywheel.deployment.failed", data: { name: "ghost", reason: "ModelNotFound", message: expect.stringMatching(/ghost\/4/) } });
    await deployModelHandler(ev("model.promoted", { model: "ghost", version: "1", cause: "gate" }), d);
    expect(parseEvent(out[1] as AnyCloudEvent).data).toMatchObject({ name: "ghost", reason: "ModelNotFound" });
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
