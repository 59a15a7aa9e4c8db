// KServe canaries by the InferenceService's own canaryTrafficPercent, decided on Knative queue-proxy numbers per
// revision in real Prometheus. The fake API server validates every write against the KServe CRD; a small controller
// plays KServe (revisions, traffic split, rolled-out revision in status.components.predictor) and a synthetic
// queue-proxy exposition counts the requests each revision answers, with Knative's metric and label names.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_PARAMS, run } from "../../../examples/iris-node/train.ts";
import { canaryTick, createDeployModelDeps, deployModelHandler, finishCanary, PrometheusCanaryStats, type DeployModelDeps } from "../../../functions/deploy-model/index.ts";
import { buildEvent, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { KServeServingBackend } from "../../../platform/serving/kserve/backend.ts";
import { ServingKubeClient } from "../../../platform/serving/kube.ts";
import { PrometheusHttpClient } from "../../../platform/telemetry/prometheus.ts";
import { startPrometheus, testRules, type Server } from "../../e2e/drift/servers.ts";
import { crdErrors } from "../../support/crds.ts";
import { crdValidator, startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { until } from "../../support/platform.ts";
import { propagateRollout, routeTraffic, tagRoutingOf, type Rollout } from "../../support/topology/kubelet/serving/kserve-rollout.ts";
import { FakeRegistry } from "./fake-registry.ts";

const NS = "ml";
const ISVC = { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: NS, name: "iris" };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kserve-canary-"));
const DECIDE_AFTER = 20;
/** Knative's default request-latency buckets (ms), a subset. */
const BUCKETS = [5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 500, 1000, 2000, 5000, 10000];

let kube: FakeKube | undefined;
let prom: Server | undefined;
let queueProxy: http.Server | undefined;
let controller: NodeJS.Timeout | undefined;
let deps: DeployModelDeps;
let backend: KServeServingBackend;
const emitted: AnyCloudEvent[] = [];
const registry = new FakeRegistry();

/** What each revision serves and has answered (the queue-proxy's counters). */
interface Revision {
  readonly name: string;
  readonly version: string;
  ok: number;
  failed: number;
  readonly latencyMs: number[];
}
const revisions = new Map<string, Revision>();
let lastTemplate = "";
let generationSeen = 0;
let rollout: Rollout = {};

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});

/** KServe's controller, reduced to the rollout: a new revision per template change (ready at once), its route and
 * rolled-out revisions by KServe's own rules (kserve-rollout.ts). */
function reconcile(k: FakeKube): void {
  const obj = k.get(ISVC);
  if (!obj) return;
  const meta = rec(obj.metadata);
  const generation = Number(meta.generation ?? 0);
  if (generation === generationSeen) return;
  generationSeen = generation;
  const predictor = rec(rec(obj.spec).predictor);
  const { canaryTrafficPercent, ...template } = predictor;
  const pct = typeof canaryTrafficPercent === "number" ? canaryTrafficPercent : undefined;
  const prev = rec(rec(rec(obj.status).components).predictor);
  let created = typeof prev.latestCreatedRevision === "string" ? prev.latestCreatedRevision : undefined;
  if (JSON.stringify(template) !== lastTemplate) {
    lastTemplate = JSON.stringify(template);
    created = `iris-predictor-${String(revisions.size + 1).padStart(5, "0")}`;
    revisions.set(created, { name: created, version: String(rec(meta.annotations)["flywheel.dev/version"]), ok: 0, failed: 0, latencyMs: [] });
  }
  if (!created) return;
  // KServe reconciles again on its own status write: repeat until the rolled-out revisions settle.
  const tagRouting = tagRoutingOf(meta.annotations);
  let traffic = routeTraffic(pct, rollout, created, tagRouting) ?? [];
  for (let next = propagateRollout(rollout, traffic, created, created); next.latestRolledoutRevision !== rollout.latestRolledoutRevision || next.previousRolledoutRevision !== rollout.previousRolledoutRevision; next = propagateRollout(rollout, traffic, created, created)) {
    rollout = next;
    traffic = routeTraffic(pct, rollout, created, tagRouting) ?? [];
  }
  const status = {
    observedGeneration: generation,
    url: "http://iris.ml.example.com",
    conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date().toISOString() }],
    components: {
      predictor: {
        latestCreatedRevision: created,
        latestReadyRevision: created,
        ...(rollout.latestRolledoutRevision ? { latestRolledoutRevision: rollout.latestRolledoutRevision } : {}),
        ...(rollout.previousRolledoutRevision ? { previousRolledoutRevision: rollout.previousRolledoutRevision } : {}),
        traffic,
      },
    },
  };
  k.setStatus(ISVC, status);
}

/** n requests through the isvc's traffic split; version 3's model fails every request (5xx). */
function serve(k: FakeKube, n: number): void {
  const traffic = (rec(rec(rec(k.get(ISVC)?.status).components).predictor).traffic ?? []) as { revisionName: string; percent: number }[];
  for (let i = 0; i < n; i++) {
    // Deterministic split: request i takes slot 37·i mod 100 (37 is coprime to 100, so every run of 100 hits each slot once).
    let acc = 0;
    const slot = ((i * 37) % 100) + 0.5;
    const target = traffic.find((t) => (acc += t.percent) >= slot) ?? traffic[0];
    const r = target ? revisions.get(target.revisionName) : undefined;
    if (!r) continue;
    if (r.version === "3") r.failed++;
    else r.ok++;
    r.latencyMs.push(r.version === "3" ? 3 : 15);
  }
}

/** The queue-proxy's exposition (knative.dev/docs/serving/services/service-metrics): names and labels as Knative's. */
function exposition(): string {
  const lines: string[] = ["# TYPE revision_app_request_count counter", "# TYPE revision_app_request_latencies histogram"];
  for (const r of revisions.values()) {
    const base = `configuration_name="iris-predictor",namespace_name="${NS}",pod_name="${r.name}-deployment-abc",revision_name="${r.name}",service_name="iris-predictor"`;
    for (const [code, cls, n] of [["200", "2xx", r.ok], ["500", "5xx", r.failed]] as const) {
      lines.push(`revision_app_request_count{${base},container_name="queue-proxy",response_code="${code}",response_code_class="${cls}"} ${n}`);
    }
    const lat = `${base},response_code="200",response_code_class="2xx"`;
    for (const le of BUCKETS) lines.push(`revision_app_request_latencies_bucket{${lat},le="${le}"} ${r.latencyMs.filter((v) => v <= le).length}`);
    lines.push(`revision_app_request_latencies_bucket{${lat},le="+Inf"} ${r.latencyMs.length}`);
    lines.push(`revision_app_request_latencies_sum{${lat}} ${r.latencyMs.reduce((a, b) => a + b, 0)}`);
    lines.push(`revision_app_request_latencies_count{${lat}} ${r.latencyMs.length}`);
  }
  return `${lines.join("\n")}\n`;
}

const ev = (data: { model: string; version: string; cause: "gate" | "manual" | "rollback" }, id: string): AnyCloudEvent => buildEvent("model.promoted", data, { source: "/test", id });

beforeAll(async () => {
  // Compiling the InferenceService schema (it embeds a PodSpec) takes seconds: once here, not inside a test's time.
  crdErrors({ apiVersion: ISVC.apiVersion, kind: ISVC.kind });
  // One artifact dir per version, as MLflow keeps them: each version's storageUri differs (a new KServe revision).
  const a = run({ ...DEFAULT_PARAMS, epochs: 40 }, path.join(dir, "v1")).outDir;
  registry.add("iris", "1", a);
  for (const v of ["2", "3"]) {
    fs.cpSync(a, path.join(dir, `v${v}`), { recursive: true });
    registry.add("iris", v, path.join(dir, `v${v}`));
  }
  const k = await startFakeKube({ validate: crdValidator, namespace: NS });
  kube = k;
  controller = setInterval(() => reconcile(k), 20);
  queueProxy = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition()));
  await new Promise<void>((resolve) => queueProxy?.listen(0, "127.0.0.1", resolve));
  fs.mkdirSync(path.join(dir, "prom"));
  prom = await startPrometheus(path.join(dir, "prom"), { target: `127.0.0.1:${(queueProxy.address() as AddressInfo).port}`, rules: testRules(dir, "1s"), interval: "1s" });
  backend = new KServeServingBackend({ client: new ServingKubeClient(k.kubeconfig, NS), pollMs: 20, readyTimeoutMs: 10_000 });
  deps = createDeployModelDeps({
    bus: { emit: async (e) => void emitted.push(e) },
    log: createLogger("silent"),
    now: Date.now,
    registry,
    backends: { kserve: backend },
    defaultBackend: "kserve",
    policies: parsePolicies(`models:\n  iris: {rollout: {strategy: canary, canaryPercent: 30, decideAfterRequests: ${DECIDE_AFTER}, decideAfterMinutes: 30, maxErrorRateIncrease: 0.05, maxLatencyRatio: 5}}\n`),
    workDir: path.join(dir, "work"),
    canaryStats: new PrometheusCanaryStats({
      prometheus: new PrometheusHttpClient({ url: prom.url, token: undefined }),
      flavour: "knative-queue-proxy",
      namespace: NS,
      revisions: (name) => backend.canary.revisions(name),
    }),
  });
}, 120_000);

afterAll(async () => {
  if (controller) clearInterval(controller);
  await prom?.stop();
  queueProxy?.close();
  await kube?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function isvc(): Obj {
  const o = kube?.get(ISVC);
  if (!o) throw new Error("no InferenceService");
  return o;
}

/** Traffic through the split and canary checks until deploy-model decides. */
async function decideWithTraffic(): Promise<AnyCloudEvent> {
  const before = emitted.length;
  return until(
    "canary decision",
    async () => {
      if (kube) serve(kube, 20);
      await canaryTick(deps);
      return emitted.slice(before).find((e) => e.type === "dev.flywheel.deployment.promoted" || e.type === "dev.flywheel.deployment.rolled_back");
    },
    60_000,
    500,
  );
}

describe("KServe canary (canaryTrafficPercent) decided on queue-proxy numbers per revision", () => {
  it("deploys v1, then canaries v2 at 30% on the InferenceService itself and promotes it by removing canaryTrafficPercent", async () => {
    await deployModelHandler(ev({ model: "iris", version: "1", cause: "gate" }, "promote-1"), deps);
    expect(rec(rec(isvc().spec).predictor).canaryTrafficPercent).toBeUndefined();
    await deployModelHandler(ev({ model: "iris", version: "2", cause: "gate" }, "promote-2"), deps);
    const during = isvc();
    expect(crdErrors(during)).toEqual([]);
    expect(rec(rec(during.spec).predictor).canaryTrafficPercent).toBe(30);
    expect(rec(rec(during.metadata).annotations)).toMatchObject({ "flywheel.dev/version": "2", "flywheel.dev/canary-stable-version": "1" });
    // No second InferenceService and no graph: the canary is KServe's own.
    expect(kube?.objects({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService" }).map((o) => rec(o.metadata).name)).toEqual(["iris"]);
    expect(kube?.objects({ apiVersion: "serving.kserve.io/v1alpha1", kind: "InferenceGraph" })).toEqual([]);
    expect(await backend.canary.revisions("iris")).toEqual({ stable: { revision: "iris-predictor-00001", version: "1" }, candidate: { revision: "iris-predictor-00002", version: "2" } });

    const decided = await decideWithTraffic();
    expect(decided.type).toBe("dev.flywheel.deployment.promoted");
    const data = decided.data as { version: string; reason: string; message: string; canary: { source: string; windowSeconds: number; candidate: { deployment: string; requests: number; errors: number; p99Ms: number }; stable: { deployment: string; errors: number; p99Ms: number } } };
    expect(data).toMatchObject({ version: "2", reason: "CanaryPassed" });
    expect(data.canary.source).toBe("prometheus");
    expect(data.canary.candidate).toMatchObject({ deployment: "iris-v2", errors: 0 });
    expect(data.canary.stable).toMatchObject({ deployment: "iris-v1", errors: 0 });
    expect(data.canary.candidate.requests).toBeGreaterThanOrEqual(DECIDE_AFTER);
    // 15 ms answers fall in the (10, 20] bucket: p99 interpolates inside it.
    expect(data.canary.candidate.p99Ms).toBeGreaterThan(10);
    expect(data.canary.candidate.p99Ms).toBeLessThanOrEqual(20);
    const after = isvc();
    expect(rec(rec(after.spec).predictor).canaryTrafficPercent).toBeUndefined();
    expect(rec(rec(after.metadata).annotations)["flywheel.dev/canary-stable-version"]).toBeUndefined();
    expect(rec(rec(rec(after.status).components).predictor).latestRolledoutRevision).toBe("iris-predictor-00002");
    expect(await deps.canaries.get("iris")).toBeUndefined();
  }, 90_000);

  it("canaries v3, whose revision answers 5xx, rolls back by pinning canaryTrafficPercent to 0 on the stable version, then promotes that version's new revision", async () => {
    await deployModelHandler(ev({ model: "iris", version: "3", cause: "gate" }, "promote-3"), deps);
    expect(rec(rec(isvc().spec).predictor).canaryTrafficPercent).toBe(30);
    const running = await deps.canaries.get("iris");
    if (!running) throw new Error("no canary record");
    const decided = await decideWithTraffic();
    expect(decided.type).toBe("dev.flywheel.deployment.rolled_back");
    const data = decided.data as { version: string; reason: string; message: string; canary: { source: string; candidate: { deployment: string; requests: number; errors: number }; stable: { deployment: string; errors: number } } };
    expect(data).toMatchObject({ version: "2", reason: "CanaryFailed" });
    expect(data.canary.candidate.deployment).toBe("iris-v3");
    expect(data.canary.candidate.errors).toBe(data.canary.candidate.requests);
    expect(data.canary.stable).toMatchObject({ deployment: "iris-v2", errors: 0 });
    expect(data.message).toMatch(/success rate 0\.00% vs 100\.00%/);
    const after = isvc();
    expect(crdErrors(after)).toEqual([]);
    // Clean: no canaryTrafficPercent left, one revision (a new one, serving v2) at 100%, and it is the rolled-out one.
    expect(rec(rec(after.spec).predictor).canaryTrafficPercent).toBeUndefined();
    expect(rec(rec(after.metadata).annotations)).toMatchObject({ "flywheel.dev/version": "2" });
    expect(rec(rec(after.metadata).annotations)["flywheel.dev/canary-stable-version"]).toBeUndefined();
    const predictor = rec(rec(rec(after.status).components).predictor);
    expect(predictor.traffic).toEqual([{ revisionName: "iris-predictor-00004", percent: 100, latestRevision: true }]);
    expect(revisions.get("iris-predictor-00004")?.version).toBe("2");
    expect(predictor).toMatchObject({ latestCreatedRevision: "iris-predictor-00004", latestRolledoutRevision: "iris-predictor-00004", previousRolledoutRevision: "iris-predictor-00002" });
    // A redelivered decision writes nothing: pinning 0% on the unchanged spec would make KServe move all traffic to the
    // previously rolled-out revision for a while.
    await finishCanary(deps, running, "rollback", "redelivered");
    expect(rec(isvc().metadata).resourceVersion).toBe(rec(after.metadata).resourceVersion);
    expect((await registry.getModelVersionByAlias("iris", "champion")).version).toBe("2");
  }, 90_000);

  it("after the rollback, the next deploy rolls out as requested: a plain deploy at 100%, then a canary against it", async () => {
    // A plain deploy (cause rollback: the policy's canary does not apply) takes all traffic on its new revision.
    await deployModelHandler(ev({ model: "iris", version: "1", cause: "rollback" }, "redeploy-1"), deps);
    const plain = isvc();
    expect(crdErrors(plain)).toEqual([]);
    expect(rec(rec(plain.spec).predictor).canaryTrafficPercent).toBeUndefined();
    expect(rec(rec(rec(plain.status).components).predictor)).toMatchObject({
      latestRolledoutRevision: "iris-predictor-00005",
      traffic: [{ revisionName: "iris-predictor-00005", percent: 100, latestRevision: true }],
    });
    expect(revisions.get("iris-predictor-00005")?.version).toBe("1");
    // Then a canary of v2 splits 30/70 against the v1 revision just rolled out.
    await deployModelHandler(ev({ model: "iris", version: "2", cause: "gate" }, "promote-2-again"), deps);
    expect(rec(rec(isvc().spec).predictor).canaryTrafficPercent).toBe(30);
    expect(await backend.canary.revisions("iris")).toEqual({ stable: { revision: "iris-predictor-00005", version: "1" }, candidate: { revision: "iris-predictor-00006", version: "2" } });
    expect(rec(rec(rec(isvc().status).components).predictor).traffic).toEqual([
      // KServe tags the latest target only with the enable-tag-routing annotation, which Flywheel does not set.
      { revisionName: "iris-predictor-00006", percent: 30, latestRevision: true },
      { revisionName: "iris-predictor-00005", percent: 70, latestRevision: false, tag: "prev" },
    ]);
  }, 90_000);
});
