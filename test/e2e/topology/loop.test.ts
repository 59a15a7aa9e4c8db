// The loop through the Knative topology (issue 14), every step through separate function processes started from the
// rendered manifests: a training through the API becomes a Job, the kubelet's process trains, log-model registers and
// the gate promotes, deploy-model creates the InferenceService and the kubelet serves it, infer answers through KServe,
// drifted traffic fires ModelDriftDetected through real Prometheus and Alertmanager, retrain-on-drift starts ONE Job,
// and the retrained version passes the fair gate, runs as a KServe canary decided on Prometheus' queue-proxy numbers,
// and is promoted. The data story is `flywheel demo --drift`'s: the drifted traffic is Iris measured by a new
// instrument (examples' data, shifted), every answer labelled through infer's feedback route, so the retrain (on the
// champion's spec: a little of the base data, the labelled window) honestly beats v1 on the same held-out window rows.
// Policies come from the topology overlay's flywheel-policies ConfigMap (test/support/topology/overlay.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../../platform/cli/client.ts";
import { irisSpec, SAMPLE_FLOWER } from "../../../platform/cli/commands/demo.ts";
import { loadBase, shiftedFlowers, type Flower } from "../../../platform/cli/commands/demo-drift/data.ts";
import path from "node:path";
import { IMAGE } from "../../../platform/manifests/settings.ts";
import { RECORDED } from "../../../platform/telemetry/rules.ts";
import { ROOT } from "../../support/knative-process.ts";
import { until } from "../../support/platform.ts";
import { startTopology, TEST_OVERLAY, type Topology } from "../../support/topology/index.ts";

let t: Topology;
let api: ApiClient;
const marks: { step: string; ms: number }[] = [];
let last = 0;
const mark = (step: string): void => {
  const now = performance.now();
  marks.push({ step, ms: now - last });
  last = now;
};

beforeAll(async () => {
  t = await startTopology();
  api = new ApiClient({ url: t.urls.ui, token: t.secrets.adminToken });
  last = performance.now();
}, 400_000);

afterAll(async () => {
  if (t) {
    for (const m of marks) t.timings.add(`loop: ${m.step}`, m.ms);
    process.stdout.write(`${t.report()}\n`);
  }
  await t?.stop();
}, 60_000);

interface EventRow {
  id: string;
  type: string;
  data: Record<string, unknown>;
}
const events = async (type: string): Promise<EventRow[]> => (await api.request<{ events: EventRow[] }>("GET", `/api/v1/events?type=${encodeURIComponent(type)}&limit=500`)).events;
const waitEvent = (type: string, match: (d: Record<string, unknown>) => boolean, ms = 120_000): Promise<EventRow> =>
  until(type, async () => (await events(type)).find((e) => match(e.data)), ms, 500);

async function prom(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${t.urls.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return ((await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
}

const jobsOf = (): Record<string, unknown>[] => t.kube.objects({ apiVersion: "batch/v1", kind: "Job", namespace: "flywheel" });
const infer = (body: unknown): Promise<Response> => fetch(`${t.urls.functions.infer}/iris`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
/** Iris measured by a new instrument, with true species (seeded: every run sends the same flowers). */
const nextFlowers = shiftedFlowers(loadBase(path.join(ROOT, "examples/iris-node/iris.csv")), 11);

interface Answer {
  predictions: { label?: unknown }[];
}
/** Send flowers in batches and label every answer through infer's feedback route; returns how many were right. */
async function serveAndLabel(flowers: readonly Flower[], batch: number): Promise<{ correct: number; total: number }> {
  let correct = 0;
  const feedback: { requestId: string; labels: string[] }[] = [];
  for (let i = 0; i < flowers.length; i += batch) {
    const part = flowers.slice(i, i + batch);
    const r = await infer(part.map((f) => f.record));
    expect(r.status, await r.clone().text()).toBe(200);
    const a = (await r.json()) as Answer;
    part.forEach((f, j) => (correct += a.predictions[j]?.label === f.species ? 1 : 0));
    feedback.push({ requestId: String(r.headers.get("x-request-id")), labels: part.map((f) => f.species) });
  }
  // The sampled records reach the shared log through the broker (KServe-logger events): post until all are joined.
  await until("every answer labelled", async () => {
    const r = await fetch(`${t.urls.functions.infer}/feedback/iris`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ feedback }) });
    expect(r.status, await r.clone().text()).toBe(202);
    const b = (await r.json()) as { matched?: number; duplicates?: number };
    return (b.matched ?? 0) + (b.duplicates ?? 0) === feedback.length ? true : undefined;
  }, 60_000, 300);
  return { correct, total: flowers.length };
}

let jobId = "";
let version = "";
let accuracyBefore = NaN;
let secondId = "";
let v2 = "";

describe("the loop through the Knative topology", () => {
  it("1-2: a training through the API becomes a Job; its process trains and log-model registers the version", async () => {
    // The Kubernetes backend needs an image; the process kubelet runs the command on this machine instead.
    // baseFraction (the demo's): a retrain on this spec keeps 5% of the base data beside its labelled window.
    const spec = irisSpec(ROOT);
    const requested = await api.request<{ jobId: string }>("POST", "/api/v1/jobs", { ...spec, params: { ...(spec.params as Record<string, string>), baseFraction: "0.05" }, image: IMAGE });
    jobId = requested.jobId;
    await until("the Job object", async () => jobsOf().find((j) => (j.metadata as { name?: string }).name === jobId), 60_000, 250);
    const job = await until("job ended", async () => {
      const j = await api.request<{ state: string; failureReason?: string }>("GET", `/api/v1/jobs/${encodeURIComponent(jobId)}`).catch(() => undefined);
      return j && ["succeeded", "failed", "cancelled"].includes(j.state) ? j : undefined;
    }, 240_000, 500);
    expect(job, JSON.stringify(job)).toMatchObject({ state: "succeeded" });
    mark("train (API -> Job -> process)");
    const logged = await waitEvent("dev.flywheel.model.logged", (d) => d.jobId === jobId);
    version = String(logged.data.version);
    expect(version).toBe("1");
    mark("log-model");
  }, 400_000);

  it("3: the gate promotes it, deploy-model creates the InferenceService and the kubelet serves it", async () => {
    expect(version).toBe("1");
    await waitEvent("dev.flywheel.model.promoted", (d) => d.model === "iris" && String(d.version) === version);
    const ready = await waitEvent("dev.flywheel.deployment.ready", (d) => d.name === "iris" && String(d.version) === version, 180_000);
    expect(ready.data.backend).toBe("kserve");
    const isvc = t.kube.get({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: "flywheel", name: "iris" });
    expect((isvc?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions).toContainEqual(expect.objectContaining({ type: "Ready", status: "True" }));
    mark("gate, deploy, serve");
  }, 300_000);

  it("4: infer answers through the cluster serving backend, on both replicas", async () => {
    // The first answer, bounded: the InferenceService reports Ready before this request (test 3).
    const first = await until("a first answer from infer", async () => {
      const r = await infer(SAMPLE_FLOWER);
      return r.status === 200 ? r : undefined;
    }, 60_000, 1000);
    expect(JSON.stringify(await first.json())).toContain("setosa");
    mark("first infer after Ready");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await infer(SAMPLE_FLOWER);
      expect(r.status, await r.clone().text()).toBe(200);
      const id = r.headers.get("x-request-id");
      expect(id, "infer issues a request id (the request-id Secret is wired)").toBeTruthy();
      ids.push(String(id));
      expect(JSON.stringify(await r.json())).toContain("setosa");
    }
    expect(t.fn("infer").served.size).toBe(2);
    // Feedback on any replica joins the record any replica logged: the sampled records travel as KServe-logger
    // CloudEvents through the broker to the shared volume, so labels are posted until every id has matched.
    const feedback = { feedback: ids.map((requestId) => ({ requestId, label: "setosa" })) };
    await until("every label joined", async () => {
      const r = await fetch(`${t.urls.functions.infer}/feedback/iris`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(feedback) });
      expect(r.status, await r.clone().text()).toBe(202);
      const b = (await r.json()) as { matched?: number; duplicates?: number };
      return (b.matched ?? 0) + (b.duplicates ?? 0) === ids.length ? true : undefined;
    }, 60_000, 500);
    mark("infer");
  }, 120_000);

  it("5: drifted traffic fires ModelDriftDetected through real Prometheus and Alertmanager", async () => {
    const window = TEST_OVERLAY.rules.driftWindow ?? "30m";
    // Both replicas' bin counters are scraped (at their first value) before the drifted traffic, so increase() counts it.
    await until("both infer replicas scraped", async () => {
      const n = await prom('count(count by (instance) (flywheel_drift_bin_observations_total{model="iris"}))');
      return Number(n[0]?.value[1]) === 2 ? true : undefined;
    }, 60_000, 500);
    // 320 flowers from the new instrument, every answer labelled (the retrain's window); v1 gets most of them wrong.
    const before = await serveAndLabel(nextFlowers(320), 40);
    accuracyBefore = before.correct / before.total;
    expect(accuracyBefore, `v1 on the drifted flowers: ${before.correct}/${before.total}`).toBeLessThan(0.6);
    await until("recorded PSI above the threshold", async () => {
      const res = await prom(`max(${RECORDED.psi(window)}{model="iris"})`);
      return Number(res[0]?.value[1]) > 0.2 ? true : undefined;
    }, 120_000, 500);
    const firing = await waitEvent("dev.flywheel.alert.firing", (d) => d.alertname === "ModelDriftDetected", 120_000);
    expect(firing.data).toMatchObject({ labels: { alertname: "ModelDriftDetected", model: "iris" } });
    mark("drift -> alert");
  }, 300_000);

  it("6: retrain-on-drift starts exactly one Job, which trains and registers a new version", async () => {
    await waitEvent("dev.flywheel.retrain.decided", (d) => d.decision === "started", 60_000);
    const second = await until("the retrain Job", async () => jobsOf().find((j) => (j.metadata as { name?: string }).name !== jobId), 60_000, 250);
    secondId = String((second.metadata as { name?: string }).name);
    const logged = await waitEvent("dev.flywheel.model.logged", (d) => d.jobId === secondId, 240_000);
    v2 = String(logged.data.version);
    expect(v2).toBe("2");
    // Repeated notifications (group interval 1 s) and both retrain replicas saw the alert: still one retrain.
    await new Promise((r) => setTimeout(r, 3000));
    const retrains = (await events("dev.flywheel.training.requested")).filter((e) => (e.data.trigger as { reason?: string } | undefined)?.reason === "drift");
    expect(retrains).toHaveLength(1);
    expect(jobsOf()).toHaveLength(2);
    mark("retrain");
  }, 360_000);

  it("7: the new version passes the fair gate, runs as a KServe canary decided on Prometheus' numbers, and is promoted", async () => {
    expect(v2).toBe("2");
    // The gate: champion and challenger scored by the same evaluator on the same held-out rows of the new window.
    const verdict = await until("the gate's verdict on v2", async () => (await events("dev.flywheel.model.promoted")).find((e) => String(e.data.version) === v2) ?? (await events("dev.flywheel.model.rejected")).find((e) => String(e.data.version) === v2), 120_000, 500);
    const gate = verdict.data.gate as { evaluation?: { candidate: number; champion: number | null; championVersion: string | null; rows: number; method: string; source: string }; reasons?: string[] };
    expect(verdict.type, JSON.stringify(gate)).toBe("dev.flywheel.model.promoted");
    const ev = gate.evaluation;
    expect(ev, JSON.stringify(gate)).toMatchObject({ championVersion: "1", source: "window" });
    expect(ev?.rows).toBeGreaterThanOrEqual(30);
    expect((ev?.candidate ?? 0) - (ev?.champion ?? 1), JSON.stringify(ev)).toBeGreaterThanOrEqual(0.05);
    expect(ev?.candidate).toBeGreaterThanOrEqual(0.8);
    mark("fair gate");

    // The canary: deploy-model keeps v1 rolled out and gives v2 the policy's 50% through the InferenceService itself.
    const isvcId = { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: "flywheel", name: "iris" };
    const started = await until("canaryTrafficPercent on the InferenceService", async () => {
      const isvc = t.kube.get(isvcId);
      const predictor = (isvc?.spec as { predictor?: { canaryTrafficPercent?: number } } | undefined)?.predictor;
      const traffic = (isvc?.status as { components?: { predictor?: { traffic?: { percent: number; tag?: string }[] } } } | undefined)?.components?.predictor?.traffic ?? [];
      return predictor?.canaryTrafficPercent === 50 && traffic.length === 2 ? traffic : undefined;
    }, 120_000, 250);
    // KServe tags the latest target only under its enable-tag-routing annotation; "prev" always.
    expect(started.map((x) => [x.tag, x.percent])).toEqual([[undefined, 50], ["prev", 50]]);
    await waitEvent("dev.flywheel.deployment.ready", (d) => d.name === "iris" && d.reason === "CanaryStarted", 60_000);
    mark("canary started");

    // Traffic behind the one URL, in waves, until deploy-model (PingSource tick, Prometheus' queue-proxy series)
    // decides: each wave is scraped before the next, so increase() counts the requests after a series' first sample.
    let promoted: EventRow | undefined;
    const deadline = Date.now() + 150_000;
    while (!promoted && Date.now() < deadline) {
      for (let i = 0; i < 10; i++) expect((await infer(nextFlowers(5).map((f) => f.record))).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1500));
      promoted = (await events("dev.flywheel.deployment.promoted")).find((e) => e.data.name === "iris");
      const rolledBack = (await events("dev.flywheel.deployment.rolled_back")).find((e) => e.data.name === "iris");
      if (rolledBack) {
        const seen = await prom('sum by (revision_name) (revision_app_request_count{namespace_name="flywheel"})');
        expect.fail(`rolled back: ${JSON.stringify(rolledBack.data)}; queue-proxy counts in Prometheus: ${JSON.stringify(seen)}`);
      }
    }
    expect(promoted, "deployment.promoted within 150 s").toBeDefined();
    const canary = promoted?.data.canary as { source: string; candidate: { requests: number; errors: number }; stable: { requests: number } } | undefined;
    expect(promoted?.data.reason).toBe("CanaryPassed");
    expect(canary?.source).toBe("prometheus");
    expect(canary?.candidate.requests).toBeGreaterThanOrEqual(20);
    expect(canary?.stable.requests).toBeGreaterThan(0);
    expect(canary?.candidate.errors).toBe(0);
    mark("canary -> promoted");

    // Promoted: canaryTrafficPercent removed, the latest revision takes 100%, the champion alias is v2.
    const isvc = await until("the canary promoted on the InferenceService", async () => {
      const o = t.kube.get(isvcId);
      const traffic = (o?.status as { components?: { predictor?: { traffic?: { percent: number }[] } } } | undefined)?.components?.predictor?.traffic ?? [];
      const pct = (o?.spec as { predictor?: { canaryTrafficPercent?: number } } | undefined)?.predictor?.canaryTrafficPercent;
      return pct === undefined && traffic.length === 1 && traffic[0]?.percent === 100 ? o : undefined;
    }, 60_000, 250);
    expect((isvc.status as { components: { predictor: { latestRolledoutRevision?: string } } }).components.predictor.latestRolledoutRevision).toBe("iris-predictor-00002");
    const alias = (await (await fetch(`${t.urls.registry}/api/2.0/mlflow/registered-models/alias?name=iris&alias=champion`)).json()) as { model_version?: { version?: string } };
    expect(alias.model_version?.version).toBe(v2);
    // infer now answers from v2: the new instrument's flowers are right this time.
    const after = await serveAndLabel(nextFlowers(100), 50);
    process.stdout.write(`loop: accuracy on the drifted flowers ${accuracyBefore.toFixed(2)} (v1) -> ${(after.correct / after.total).toFixed(2)} (v2); gate ${ev?.champion?.toFixed(2)} vs ${ev?.candidate.toFixed(2)} on ${ev?.rows} rows; canary ${canary?.candidate.requests} vs ${canary?.stable.requests} requests\n`);
    expect(after.correct / after.total).toBeGreaterThanOrEqual(0.8);
    mark("promoted, infer on v2");
  }, 400_000);
});
