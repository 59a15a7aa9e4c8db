// Bench helpers: a keep-alive HTTP client for the registry REST API, a seeded PRNG, and the seeding of N runs
// (runs/create + runs/log-batch, a few in flight at once) and M registered models.
import http from "node:http";

export interface Answer { status: number; body: string }
export interface RestClient {
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<Answer>;
  close(): void;
}

export function restClient(port: number): RestClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const call = (method: "GET" | "POST", path: string, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      const headers = text ? { "content-type": "application/json", "content-length": Buffer.byteLength(text) } : {};
      const req = http.request({ host: "127.0.0.1", port, path, method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on("error", reject);
      req.end(text);
    });
  return { call, close: () => agent.destroy() };
}

/** mulberry32: the same runs every time, so before/after runs of the bench search the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const T0 = 1_700_000_000_000;
export const LRS = ["0.1", "0.01", "0.001"];
const TEAMS = ["a", "b", "c"];

async function ok(p: Promise<Answer>, what: string): Promise<Record<string, unknown>> {
  const r = await p;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  const parsed: unknown = JSON.parse(r.body);
  return typeof parsed === "object" && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {};
}

/** Create an experiment with n runs: accuracy (missing on 1 run in 10), loss, lr, batch_size, a team tag. */
export async function seedRuns(c: RestClient, base: string, name: string, n: number, concurrency = 8): Promise<{ experimentId: string; firstRunId: string }> {
  const exp = await ok(c.call("POST", `${base}/mlflow/experiments/create`, { name }), "experiments/create");
  const experimentId = String(exp.experiment_id);
  const rnd = prng(42);
  let next = 0;
  let firstRunId = "";
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      // Two runs share each start_time, so the run_id tie-break of MLflow's default order is exercised.
      const start = T0 + Math.floor(i / 2) * 1000;
      const created = await ok(c.call("POST", `${base}/mlflow/runs/create`, { experiment_id: experimentId, run_name: `run-${i}`, start_time: start, tags: [{ key: "team", value: TEAMS[i % 3] }] }), "runs/create");
      const info = Object(Object(created.run).info) as { run_id?: unknown };
      const runId = String(info.run_id);
      if (i === 0) firstRunId = runId;
      const metrics = [{ key: "loss", value: rnd(), timestamp: start, step: 0 }];
      if (i % 10 !== 3) metrics.push({ key: "accuracy", value: rnd(), timestamp: start, step: 0 });
      await ok(c.call("POST", `${base}/mlflow/runs/log-batch`, {
        run_id: runId,
        metrics,
        params: [{ key: "lr", value: LRS[i % 3] ?? "0.1" }, { key: "batch_size", value: String(16 << (i % 4)) }],
      }), "runs/log-batch");
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { experimentId, firstRunId };
}

export async function seedModels(c: RestClient, base: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await ok(c.call("POST", `${base}/mlflow/registered-models/create`, { name: `bench-model-${String(i).padStart(4, "0")}`, tags: [{ key: "team", value: TEAMS[i % 3] }] }), "registered-models/create");
  }
}
