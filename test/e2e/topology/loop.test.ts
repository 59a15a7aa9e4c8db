// The loop through the Knative topology (issue 14), every step through separate function processes started from the
// rendered manifests: a training through the API becomes a Job, the kubelet's process trains, log-model registers and
// the gate promotes, deploy-model creates the InferenceService and the kubelet serves it, infer answers through KServe,
// drifted traffic fires ModelDriftDetected through real Prometheus and Alertmanager, and retrain-on-drift starts ONE Job.
// The new-data policy (issue 15) is left at its default (on): step 4 labels its answers through infer's feedback route,
// so the retrain of step 6 has new labelled data (and trains on its window).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../../platform/cli/client.ts";
import { irisSpec, SAMPLE_FLOWER } from "../../../platform/cli/commands/demo.ts";
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
/** Flowers far outside Iris' training range: every feature lands in its baseline's last bin. */
const drifted = (n: number): Record<string, number>[] => Array.from({ length: n }, (_, i) => ({ sepal_length: 7.8 + (i % 3) * 0.05, sepal_width: 4.3, petal_length: 6.8, petal_width: 2.5 }));

let jobId = "";
let version = "";

describe("the loop through the Knative topology", () => {
  it("1-2: a training through the API becomes a Job; its process trains and log-model registers the version", async () => {
    // The Kubernetes backend needs an image; the process kubelet runs the command on this machine instead.
    const requested = await api.request<{ jobId: string }>("POST", "/api/v1/jobs", { ...irisSpec(ROOT), image: IMAGE });
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
    for (let i = 0; i < 8; i++) {
      const r = await infer(drifted(20));
      expect(r.status).toBe(200);
      await new Promise((res) => setTimeout(res, 250));
    }
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
    const secondId = String((second.metadata as { name?: string }).name);
    await waitEvent("dev.flywheel.model.logged", (d) => d.jobId === secondId, 240_000);
    // Repeated notifications (group interval 1 s) and both retrain replicas saw the alert: still one retrain.
    await new Promise((r) => setTimeout(r, 3000));
    const retrains = (await events("dev.flywheel.training.requested")).filter((e) => (e.data.trigger as { reason?: string } | undefined)?.reason === "drift");
    expect(retrains).toHaveLength(1);
    expect(jobsOf()).toHaveLength(2);
    mark("retrain");
  }, 360_000);
});
