// In-memory fakes of every UiDeps interface, sized by the caller (the bench uses 10k runs and jobs).
import type { AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { TAG } from "../../../platform/lineage.ts";
import { createLogger } from "../../../platform/log.ts";
import { isJobState } from "../../../platform/ports.ts";
import type { DeploymentStatus, JobFilter, JobRecord, JobState, LogOptions, ModelVersionInfo } from "../../../platform/ports.ts";
import { NotFoundError, ValidationError } from "../../../platform/errors.ts";
import type { Paged, ProgressPoint, UiArtifact, UiDeadLetter, UiDeps, UiExperiment, UiRun, UiStoredEvent, V2InferRequest, V2InferResponse, V2ModelMetadata } from "../../../pages/deps.ts";

export const IRIS_META: V2ModelMetadata = {
  name: "iris",
  versions: ["1"],
  platform: "onnxruntime_onnx",
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [{ name: "label", datatype: "INT64", shape: [-1] }, { name: "probabilities", datatype: "FP32", shape: [-1, 3] }],
  parameters: { features: ["sepal_length", "sepal_width", "petal_length", "petal_width"], labels: ["setosa", "versicolor", "virginica"] },
};

export function job(i: number, state: JobState = "succeeded", extra: Partial<JobRecord> = {}): JobRecord {
  const createdAt = 1_700_000_000_000 + i * 1000;
  return {
    id: `job-${String(i).padStart(5, "0")}`,
    model: i % 2 ? "iris" : "wine",
    kind: "single",
    backend: "local",
    state,
    spec: { kind: "single", model: "iris", command: ["python3", "train.py"], args: [], params: {}, replicas: 1, procsPerReplica: 1, env: {}, timeoutSeconds: 600 },
    trigger: { reason: "manual", user: "admin" },
    createdAt,
    startedAt: createdAt + 100,
    finishedAt: state === "running" || state === "pending" ? undefined : createdAt + 5000,
    ranks: 2,
    history: [{ state: "pending", at: createdAt }, { state: "running", at: createdAt + 100 }, ...(state === "running" || state === "pending" ? [] : [{ state, at: createdAt + 5000 }])],
    ...extra,
  };
}

export interface Fakes {
  deps: UiDeps;
  emitted: AnyCloudEvent[];
  /** What the broker keeps (recentEvents): the seeded events, then every emitted one, as the embedded broker does. */
  stored: UiStoredEvent[];
  /** The broker's dead letters (deadLetters). */
  dead: UiDeadLetter[];
  jobs: JobRecord[];
  runs: UiRun[];
  infers: V2InferRequest[];
  replayed: string[];
  discarded: string[];
  cancelled: string[];
  deployments: DeploymentStatus[];
  searchRunsCalls: { orderBy: readonly string[]; pageToken: string | undefined; maxResults: number; filter?: string | undefined }[];
}

export function makeFakes(opts: { jobs?: number; runs?: number; airflowUrl?: string; fetch?: UiDeps["fetch"]; traffic?: UiDeps["traffic"]; now?: UiDeps["now"]; extraDeployments?: DeploymentStatus[]; wrapInference?: (real: UiDeps["inference"]) => UiDeps["inference"] } = {}): Fakes {
  const emitted: AnyCloudEvent[] = [];
  const jobs: JobRecord[] = Array.from({ length: opts.jobs ?? 3 }, (_, i) => job(i, i === 0 ? "running" : "succeeded"));
  const experiments: UiExperiment[] = [{ experimentId: "1", name: "iris", lastUpdateTime: 1_700_000_000_000 }];
  const runs: UiRun[] = Array.from({ length: opts.runs ?? 5 }, (_, i) => ({
    runId: `run${String(i).padStart(5, "0")}`,
    runName: `run-${i}`,
    experimentId: "1",
    status: "FINISHED",
    startTime: 1_700_000_000_000 + i * 1000,
    endTime: 1_700_000_000_000 + i * 1000 + 500,
    metrics: { accuracy: (i % 100) / 100, loss: 1 - (i % 100) / 100 },
    params: { lr: String(0.01 * (1 + (i % 7))), epochs: String(10 + (i % 5)) },
    tags: { "flywheel.job_id": `job-${i}` },
  }));
  const infers: V2InferRequest[] = [];
  const replayed: string[] = [];
  const discarded: string[] = [];
  const cancelled: string[] = [];
  const searchRunsCalls: Fakes["searchRunsCalls"] = [];
  const versions: ModelVersionInfo[] = [1, 2].map((v) => ({
    name: "iris",
    version: String(v),
    runId: `run0000${v}`,
    source: `mlflow-artifacts:/1/run0000${v}/artifacts/model`,
    status: "READY",
    tags: {
      [TAG.trainingSpec]: JSON.stringify({ kind: "single", model: "iris", command: ["python3", "train.py"] }),
      [TAG.trigger]: JSON.stringify({ reason: v === 2 ? "drift" : "manual" }),
      [TAG.jobId]: `job-0000${v}`,
      [TAG.gate]: JSON.stringify({ metric: "accuracy", direction: "maximize", candidate: 0.9 + v / 100, champion: v === 2 ? 0.91 : null, minImprovement: 0, floors: {}, reasons: [v === 2 ? "accuracy 0.92 beats champion 0.91" : "no champion yet"] }),
    },
    aliases: v === 2 ? ["champion"] : ["previous-champion"],
    creationTimestamp: 1_700_000_000_000 + v,
  }));
  const deployments: DeploymentStatus[] = [{
    name: "iris", kind: "model", backend: "local", model: "iris", version: "2", revision: "r-abc123", warnings: [],
    state: "ready", conditions: [{ type: "Ready", status: "True", reason: "Loaded" }], spec: { kind: "model", name: "iris", model: "iris", version: "2" }, updatedAt: 1_700_000_000_000,
  }];
  deployments.push(...(opts.extraDeployments ?? []));
  const stored: UiStoredEvent[] = [
    { id: "e1", source: "/flywheel/functions/log-model", type: "dev.flywheel.model.logged", subject: "iris", receivedAt: 1_700_000_000_000, event: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", data: {} } },
    { id: "e2", source: "/flywheel/functions/retrain-on-drift", type: "dev.flywheel.retrain.decided", subject: "iris", receivedAt: 1_700_000_001_000, event: { data: { model: "iris", decision: "skipped", reason: "cooldown", message: "<b>last retrain 5m ago</b>" } } },
    { id: "e3", source: "/flywheel/triggers/alertmanager", type: "dev.flywheel.alert.firing", subject: "iris", receivedAt: 1_700_000_002_000, event: { data: { alertname: "ModelDriftDetected", status: "firing", labels: { model: "iris" } } } },
  ];
  const dead: UiDeadLetter[] = [{ id: "dl1", eventId: "e9", source: "/x", type: "dev.flywheel.training.requested", trigger: "launch-training", errorDest: "http://launch-training", errorCode: 500, reason: "spec.model: must be lowercase", attempts: 3, state: "dead", count: 1, lastAt: 1_700_000_000_000, errorData: Buffer.from('{"error":"spec.model: must be lowercase"}').toString("base64") }];

  const filterJobs = (f: JobFilter = {}): JobRecord[] => jobs.filter((j) => (!f.state || j.state === f.state) && (!f.model || j.model === f.model));
  const metricOf = (r: UiRun, key: string): number | string => {
    if (key.startsWith("metrics.")) return r.metrics[key.slice(8)] ?? -Infinity;
    if (key.startsWith("params.")) return r.params[key.slice(7)] ?? "";
    if (key === "attributes.run_name") return r.runName ?? "";
    if (key === "attributes.status") return r.status;
    return r.startTime;
  };

  const deps: UiDeps = {
    auth: { requireRole: () => async (_c, next) => next(), csrf: async (_c, next) => next() },
    bus: {
      emit: async (e) => {
        emitted.push(e);
        stored.push({ id: e.id, source: e.source, type: e.type, subject: e.subject, receivedAt: Date.now(), event: { ...e } });
      },
    },
    events: {
      recentEvents: async (q) => stored.filter((e) => !q.type || e.type === q.type).slice(q.offset, q.offset + q.limit),
      deadLetters: async (q) => dead.slice(q.offset, q.offset + q.limit),
      replayDeadLetter: async (id) => void replayed.push(id),
      discardDeadLetter: async (id) => void discarded.push(id),
    },
    training: {
      get: async (id) => jobs.find((j) => j.id === id),
      list: async (f) => filterJobs(f).slice(f?.offset ?? 0, (f?.offset ?? 0) + (f?.limit ?? 100)),
      count: async (f) => filterJobs({ state: isJobState(f.state) ? f.state : undefined, model: f.model }).length,
      logs: async function* (id: string, o?: LogOptions) {
        for (let i = 0; i < 3; i++) yield `rank ${o?.rank ?? 0} line ${i} of ${id} <script>x</script>`;
        // What the page asked for, so a test can see it reads a bounded tail; then one overlong line.
        if (o?.tail !== undefined) yield `tail=${o.tail} ${"L".repeat(5000)}`;
      },
      cancel: async (id) => {
        cancelled.push(id);
        const j = jobs.find((x) => x.id === id);
        if (!j) throw new NotFoundError(`no job ${id}`);
        return { ...j, state: "cancelled" };
      },
      progress: async (): Promise<ProgressPoint[]> => [1, 2, 3].flatMap((s) => [{ step: s, metric: "loss", value: 1 / s }, { step: s, metric: "accuracy", value: 1 - 1 / (s + 1) }]),
    },
    jobIdForRequest: (model, eventId) => `${model}-for-${eventId.slice(0, 8)}`,
    registry: {
      searchExperiments: async () => ({ items: experiments }),
      getExperiment: async (id) => {
        const e = experiments.find((x) => x.experimentId === id);
        if (!e) throw new NotFoundError(`experiment ${id} does not exist`);
        return e;
      },
      searchRuns: async (q): Promise<Paged<UiRun>> => {
        searchRunsCalls.push({ orderBy: q.orderBy, pageToken: q.pageToken, maxResults: q.maxResults, filter: q.filter });
        // The registry's answer to a filter it cannot parse (MLflow: 400 INVALID_PARAMETER_VALUE).
        if (q.filter?.includes("!!")) throw new ValidationError([{ field: "filter", message: "Invalid filter: unexpected '!!'" }]);
        const [key = "attributes.start_time", dir = "DESC"] = (q.orderBy[0] ?? "").split(" ");
        const sorted = [...runs].sort((a, b) => {
          const x = metricOf(a, key.replace(/`/g, ""));
          const y = metricOf(b, key.replace(/`/g, ""));
          const c = x < y ? -1 : x > y ? 1 : 0;
          return dir === "ASC" ? c : -c;
        });
        const start = Number(q.pageToken ?? "0");
        const items = sorted.slice(start, start + q.maxResults);
        return { items, nextPageToken: start + q.maxResults < sorted.length ? String(start + q.maxResults) : undefined };
      },
      getRun: async (id) => {
        const r = runs.find((x) => x.runId === id);
        if (!r) throw new NotFoundError(`run ${id} does not exist`);
        return r;
      },
      listArtifacts: async (_runId, p) => {
        const files: Record<string, UiArtifact[]> = {
          "": [{ path: "metrics.json", isDir: false, size: 30 }, { path: "data.csv", isDir: false, size: 40 }, { path: "model", isDir: true }],
          model: [{ path: "model/MLmodel", isDir: false, size: 12 }, { path: "model/model.onnx", isDir: false, size: 4 }],
        };
        const list = files[p];
        if (!list) throw new NotFoundError(`no artifacts under ${p}`);
        return list;
      },
      getArtifact: async (_runId, p) => {
        const bodies: Record<string, Buffer> = {
          "metrics.json": Buffer.from('{"accuracy":0.97,"loss":0.08}'),
          "data.csv": Buffer.from('a,b\n1,"x, y"\n2,<script>\n'),
          "model/MLmodel": Buffer.from("flavors: {}\n"),
          "model/model.onnx": Buffer.from([0, 1, 2, 0]),
        };
        const b = bodies[p];
        if (!b) throw new NotFoundError(`artifact ${p} does not exist`);
        return b;
      },
      getMetricHistory: async (_id, key) => [0, 1, 2].map((s) => ({ step: s, value: key === "loss" ? 1 / (s + 1) : s / 3, timestamp: s })),
      searchRegisteredModels: async () => ({ items: [{ name: "iris", aliases: [{ alias: "champion", version: "2" }], latestVersion: "2", lastUpdatedTimestamp: 1_700_000_000_000 }] }),
    },
    models: {
      searchModelVersions: async (name) => versions.filter((v) => v.name === name),
      getModelVersion: async (name, version) => {
        const v = versions.find((x) => x.name === name && x.version === version);
        if (!v) throw new NotFoundError(`model version ${name}/${version} does not exist`);
        return v;
      },
    },
    serving: { name: "local", list: async () => deployments, get: async (n) => deployments.find((d) => d.name === n) },
    inference: (opts.wrapInference ?? ((i) => i))({
      metadata: async (name) => {
        if (!deployments.some((d) => d.name === name)) throw new NotFoundError(`deployment ${name} does not exist`);
        return IRIS_META;
      },
      inferV2: async (name, req): Promise<V2InferResponse> => {
        infers.push(req);
        const row = req.inputs[0]?.data ?? [];
        const petal = Number(row[2]);
        if (!Number.isFinite(petal)) throw new ValidationError([{ field: "inputs[0].data", message: "must hold 4 numbers" }]);
        const label = petal < 2.5 ? 0 : petal < 5 ? 1 : 2;
        const probabilities = [0, 1, 2].map((i) => (i === label ? 0.8 : 0.1));
        return { model_name: name, model_version: "2", id: req.id, outputs: [{ name: "probabilities", shape: [1, 3], datatype: "FP32", data: probabilities }, { name: "label", shape: [1], datatype: "INT64", data: [label] }] };
      },
    }),
    drift: {
      threshold: 0.2,
      alerting: { prometheus: true, alertmanager: false },
      snapshots: () => [{
        model: "iris", version: "2", samples: 500, drifted: true, scores: { petal_length: 0.35, sepal_width: 0.05 },
        history: [0, 1, 2].map((i) => ({ at: Date.now() - (3 - i) * 60_000, scores: { petal_length: 0.1 + i * 0.125, sepal_width: 0.05 } })),
      }],
    },
    health: { check: async () => [{ name: "broker", ok: true }, { name: "registry", ok: true }, { name: "serving", ok: false, detail: "model iris loading" }] },
    config: {
      links: { prometheus: "http://prom.example:9090", alertmanager: undefined, grafana: undefined, airflow: opts.airflowUrl, mlflow: undefined, tracing: "http://jaeger.example" },
      airflow: { username: "admin", password: "pw" },
    },
    log: createLogger("silent"),
    fetch: opts.fetch,
    traffic: opts.traffic,
    now: opts.now,
  };
  return { deps, emitted, stored, dead, jobs, runs, infers, replayed, discarded, cancelled, deployments, searchRunsCalls };
}
