// `flywheel demo --drift`: the recovery story, each step timed. Train and deploy; shifted traffic with feedback;
// drift and accuracy alerts; a retrain on the new data; the fair gate; a canary; promotion; drift back under the
// threshold. Ends on `recovered: accuracy A -> B`.
import path from "node:path";
import type { ApiClient } from "../../client.ts";
import type { Out } from "../../output.ts";
import { irisSpec, waitForEvent, type EventRow } from "../demo.ts";
import { waitForJob } from "../jobs.ts";
import { loadBase, shiftedFlowers, type Flower } from "./data.ts";
import { firing, parseMetrics, webhookBody } from "./monitor.ts";

export const DRIFT_THRESHOLD = 0.2;

export interface DriftDemoResult {
  readonly before: number;
  readonly after: number;
  readonly driftBefore: number;
  readonly driftAfter: number;
  readonly versions: { readonly old: string; readonly new: string };
  readonly monitor: "prometheus" | "in-process";
  readonly steps: { step: string; ms: number }[];
}

/** The demo's rollout: a canary that decides quickly; the gate wants a real improvement on the new data. */
export const DRIFT_DEMO_POLICIES = `defaults:
  gate: {metric: accuracy, direction: maximize, minImprovement: 0.05, floors: {accuracy: 0.8}}
  rollout: {strategy: replace}
  retrain: {maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3}
models:
  iris:
    rollout: {strategy: canary, canaryPercent: 50, decideAfterRequests: 30, decideAfterMinutes: 2, maxErrorRateIncrease: 0.05, maxLatencyRatio: 10}
`;

interface Answer {
  requestId: string;
  predictions: { label?: unknown }[];
}

const label = (p: { label?: unknown } | undefined): string => (typeof p?.label === "string" ? p.label : "");

export async function runDriftDemo(api: ApiClient, repoRoot: string, out: Out, json: boolean, o: { monitor: "prometheus" | "in-process"; metricsUrl: string }): Promise<DriftDemoResult> {
  const steps: { step: string; ms: number }[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, describe: (v: T) => string): Promise<T> => {
    const t0 = performance.now();
    const v = await fn();
    const ms = Math.round(performance.now() - t0);
    steps.push({ step: name, ms });
    if (!json) out.line(`${name.padEnd(20)} ${String(ms).padStart(6)} ms  ${describe(v)}`);
    return v;
  };
  const next = shiftedFlowers(loadBase(path.join(repoRoot, "examples/iris-node/iris.csv")), 11);
  const since = new Date().toISOString();
  const events = async (type: string): Promise<EventRow[]> => (await api.request<{ events: EventRow[] }>("GET", `/api/v1/events?type=${type}&limit=1000`)).events;

  /** Send flowers in batches, label every answer, and return how many the serving model got right. */
  const serve = async (flowers: Flower[], batch: number): Promise<{ correct: number; total: number; labelled: number }> => {
    let correct = 0;
    const feedback: { requestId: string; labels: string[] }[] = [];
    for (let i = 0; i < flowers.length; i += batch) {
      const part = flowers.slice(i, i + batch);
      const a = await api.request<Answer>("POST", "/infer/iris", part.map((f) => f.record));
      part.forEach((f, j) => (correct += label(a.predictions[j]) === f.species ? 1 : 0));
      feedback.push({ requestId: a.requestId, labels: part.map((f) => f.species) });
    }
    const r = await api.request<{ matched: number }>("POST", "/feedback/iris", { feedback });
    return { correct, total: flowers.length, labelled: r.matched };
  };
  const metrics = async () => parseMetrics(await (await fetch(`${o.metricsUrl}/metrics`)).text());
  const driftOf = async (version: string): Promise<number | undefined> => {
    const scores = (await metrics()).filter((s) => s.name === "flywheel_model_drift_score" && s.labels.model === "iris" && s.labels.version === version);
    return scores.length >= 5 ? Math.max(...scores.map((s) => s.value)) : undefined;
  };
  const until = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const v1 = await step(
    "1 train + deploy",
    async () => {
      const spec = { ...irisSpec(repoRoot), params: { epochs: "300", lr: "0.1", seed: "7", baseFraction: "0.05" }, dataWindow: { days: 7 } };
      const { jobId } = await api.request<{ jobId: string }>("POST", "/api/v1/jobs", spec);
      const job = await waitForJob(api, jobId, 300_000);
      if (job.state !== "succeeded") throw new Error(`training ${job.state}: ${job.failureReason ?? ""}`);
      const logged = await waitForEvent(api, "dev.flywheel.model.logged", (d) => d.jobId === jobId, 60_000);
      const version = String(logged.data.version);
      await waitForEvent(api, "dev.flywheel.deployment.ready", (d) => d.name === "iris" && d.version === version, 60_000);
      return version;
    },
    (v) => `iris v${v} trained on the Iris data and serving`,
  );

  const before = await step("2 shifted traffic", () => serve(next(320), 20), (r) => `320 flowers from a new instrument; v${v1} right on ${r.correct}/${r.total}; ${r.labelled} requests labelled via POST /feedback`);

  const alerts = await step(
    "3 alerts",
    async () => {
      const posted = new Set<string>();
      return until("ModelDriftDetected and ModelAccuracyDropped", async () => {
        if (o.monitor === "in-process") {
          for (const a of firing(await metrics()).filter((x) => x.model === "iris" && x.version === v1)) {
            if (posted.has(a.alertname)) continue;
            posted.add(a.alertname);
            await api.request("POST", "/hooks/alertmanager", webhookBody(a, since));
          }
        }
        const got = (await events("dev.flywheel.alert.firing")).filter((e) => e.data.labels && (e.data.labels as Record<string, string>).model === "iris");
        const names = new Set(got.map((e) => String(e.data.alertname)));
        return names.has("ModelDriftDetected") && names.has("ModelAccuracyDropped") ? { names: [...names], drift: (await driftOf(v1)) ?? NaN } : undefined;
      });
    },
    (a) => `${a.names.join(" + ")} firing (${o.monitor === "prometheus" ? "Prometheus -> Alertmanager" : "in-process monitor"} -> webhook); drift score ${a.drift.toFixed(2)} > ${DRIFT_THRESHOLD}`,
  );

  const retrained = await step(
    "4 retrain",
    async () => {
      const logged = await waitForEvent(api, "dev.flywheel.model.logged", (d) => (d.trigger as { reason?: string } | undefined)?.reason === "drift", 120_000);
      const version = String(logged.data.version);
      const mv = await api.request<{ model_version: { tags?: { key: string; value: string }[] } }>("GET", `/api/2.0/mlflow/model-versions/get?name=iris&version=${version}`);
      const data = JSON.parse(mv.model_version.tags?.find((t) => t.key === "flywheel.data")?.value ?? "{}") as { train?: { base?: number; window?: number }; window?: { from?: string; rows?: number } };
      return { version, data };
    },
    (r) => `iris v${r.version} on ${r.data.train?.base ?? "?"} base + ${r.data.train?.window ?? "?"} labelled feedback rows (window of ${r.data.window?.rows ?? "?"} rows since ${r.data.window?.from?.slice(0, 10) ?? "?"})`,
  );
  const v2 = retrained.version;

  const verdict = await step(
    "5 fair gate",
    async () => {
      const e = await until("the gate", async () => (await events("dev.flywheel.model.promoted")).find((x) => x.data.version === v2) ?? (await events("dev.flywheel.model.rejected")).find((x) => x.data.version === v2));
      const gate = e.data.gate as { evaluation?: { candidate: number; champion: number | null; rows: number; method: string }; reasons: string[] };
      if (e.type.endsWith("rejected")) throw new Error(`gate rejected v${v2}: ${gate.reasons.join("; ")}`);
      return gate;
    },
    (g) => `v${v1} ${g.evaluation?.champion?.toFixed(2) ?? "?"} vs v${v2} ${g.evaluation?.candidate.toFixed(2) ?? "?"} on the same ${g.evaluation?.rows ?? "?"} held-out feedback rows (${g.evaluation?.method ?? "recorded metrics"}): promoted`,
  );
  void verdict;

  const canary = await step(
    "6 canary",
    async () => {
      await waitForEvent(api, "dev.flywheel.deployment.ready", (d) => d.name === "iris" && d.kind === "experiment", 60_000);
      let requests = 0;
      let decided: EventRow | undefined;
      // Bounded by time, not by requests: the controller decides on its tick (15 s), however fast traffic flows.
      const deadline = Date.now() + 120_000;
      while (!decided) {
        await serve(next(20), 2);
        requests += 10;
        decided = (await events("dev.flywheel.deployment.promoted")).find((e) => e.data.name === "iris") ?? (await events("dev.flywheel.deployment.rolled_back")).find((e) => e.data.name === "iris");
        if (!decided && Date.now() > deadline) throw new Error(`the canary never decided (${requests} requests in 120 s)`);
      }
      return { requests, decided };
    },
    (c) => `v${v2} at 50% next to v${v1}; ${c.requests} requests until the decision: ${String(c.decided.data.message ?? c.decided.data.reason ?? "")}`,
  );
  if (!canary.decided.type.endsWith("promoted")) throw new Error(`canary rolled back: ${String(canary.decided.data.message ?? "")}`);

  await step(
    "7 promotion",
    () => until("iris to serve the new version", async () => {
      const d = await api.request<{ version?: string; kind: string }>("GET", "/api/v1/deployments/iris");
      return d.kind === "model" && d.version === v2 ? d : undefined;
    }),
    () => `iris serves v${v2} alone (champion)`,
  );

  const after = await step(
    "8 drift",
    async () => {
      const r = await serve(next(200), 20);
      const drift = await until("the new version's drift score", () => driftOf(v2), 30_000);
      return { ...r, drift };
    },
    (r) => `v${v2} right on ${r.correct}/${r.total} new flowers; drift score ${r.drift.toFixed(2)} ${r.drift < DRIFT_THRESHOLD ? "<" : ">="} ${DRIFT_THRESHOLD}`,
  );
  if (after.drift >= DRIFT_THRESHOLD) throw new Error(`drift score of v${v2} is still ${after.drift.toFixed(3)}`);
  return {
    before: before.correct / before.total,
    after: after.correct / after.total,
    driftBefore: alerts.drift,
    driftAfter: after.drift,
    versions: { old: v1, new: v2 },
    monitor: o.monitor,
    steps,
  };
}
