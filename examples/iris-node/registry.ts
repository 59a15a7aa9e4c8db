// Logs the Iris run to an MLflow-compatible registry over REST 2.0 (the embedded one or a real MLflow): params, every
// epoch's training loss/accuracy as a metric history (log-batch with steps), the held-out metrics, and run.json so
// log-model registers the version on this run.
import fs from "node:fs";
import path from "node:path";

type Env = Record<string, string | undefined>;

export interface EpochPoint {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  /** epoch ms */
  readonly time: number;
}

interface Metric {
  readonly key: string;
  readonly value: number;
  readonly timestamp: number;
  readonly step: number;
}

/** MLflow accepts at most 1000 metrics per log-batch call. */
const BATCH = 1000;

async function call(env: Env, method: "GET" | "POST", endpoint: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const base = (env.MLFLOW_TRACKING_URI ?? "").replace(/\/+$/, "");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (env.MLFLOW_TRACKING_TOKEN) headers.authorization = `Bearer ${env.MLFLOW_TRACKING_TOKEN}`;
  const url = new URL(`${base}/api/2.0/mlflow/${endpoint}`);
  if (method === "GET") for (const [k, v] of Object.entries(body)) url.searchParams.set(k, String(v));
  const res = await fetch(url, { method, headers, ...(method === "POST" ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : {};
  const json = parsed && typeof parsed === "object" && !Array.isArray(parsed) ? Object.fromEntries(Object.entries(parsed)) : {};
  if (!res.ok) throw new Error(`${endpoint}: HTTP ${res.status} ${typeof json.error_code === "string" ? json.error_code : ""}`.trim());
  return json;
}

const pick = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === "object" ? Reflect.get(v, k) : undefined), o);

async function experimentId(env: Env, name: string): Promise<string> {
  try {
    const id = pick(await call(env, "GET", "experiments/get-by-name", { experiment_name: name }), "experiment", "experiment_id");
    if (typeof id === "string") return id;
  } catch (e) {
    if (!(e instanceof Error) || !e.message.includes("RESOURCE_DOES_NOT_EXIST")) throw e;
  }
  const id = pick(await call(env, "POST", "experiments/create", { name }), "experiment_id");
  if (typeof id !== "string") throw new Error("experiments/create: no experiment_id");
  return id;
}

/** Returns the run id, or undefined when no registry is configured (MLFLOW_TRACKING_URI unset). */
export async function logRun(env: Env, outDir: string, params: Readonly<Record<string, number>>, epochs: readonly EpochPoint[], final: Readonly<Record<string, number>>, now: number): Promise<string | undefined> {
  if (!env.MLFLOW_TRACKING_URI?.startsWith("http")) return undefined;
  const exp = await experimentId(env, env.MLFLOW_EXPERIMENT_NAME || "Default");
  const jobId = env.FLYWHEEL_JOB_ID ?? "";
  const start = epochs[0]?.time ?? now;
  const run = await call(env, "POST", "runs/create", { experiment_id: exp, start_time: start, run_name: jobId || "iris", tags: [{ key: "flywheel.job_id", value: jobId }, { key: "mlflow.source.name", value: "examples/iris-node/train.ts" }] });
  const runId = pick(run, "run", "info", "run_id");
  if (typeof runId !== "string") throw new Error("runs/create: no run_id");
  const last = epochs[epochs.length - 1]?.epoch ?? 0;
  const metrics: Metric[] = [
    ...epochs.flatMap((p) => [
      { key: "train_loss", value: p.loss, timestamp: p.time, step: p.epoch },
      { key: "train_accuracy", value: p.accuracy, timestamp: p.time, step: p.epoch },
    ]),
    // The held-out numbers (and the final training ones) at the last step: the values the gate compares.
    ...Object.entries(final).map(([key, value]) => ({ key, value, timestamp: now, step: last })),
  ];
  const paramList = Object.entries(params).map(([key, value]) => ({ key, value: String(value) }));
  for (let i = 0; i < metrics.length || i === 0; i += BATCH) {
    await call(env, "POST", "runs/log-batch", { run_id: runId, metrics: metrics.slice(i, i + BATCH), ...(i === 0 ? { params: paramList } : {}) });
  }
  await call(env, "POST", "runs/update", { run_id: runId, status: "FINISHED", end_time: now });
  fs.writeFileSync(path.join(outDir, "run.json"), JSON.stringify({ run_id: runId, experiment_id: exp }) + "\n");
  return runId;
}
