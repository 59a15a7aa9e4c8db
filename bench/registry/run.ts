// Bench: the embedded registry's search over REST at 10k and 100k runs (and 500 registered models): p50/p95 of
// runs/search by metric, param and attribute order, filters and a deep page, as ratios against a runs/get measured
// in the same run; process memory before and after the searches. Measures; never asserts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createLogger } from "../../platform/log.ts";
import { encodeToken } from "../../platform/registry/paging.ts";
import { createRegistryServer, REGISTRY_MOUNT_PATH } from "../../platform/registry/index.ts";
import { restClient, seedModels, seedRuns, type RestClient } from "./seed.ts";

const SIZES = (process.env.BENCH_RUNS ?? "10000,100000").split(",").map(Number).filter((n) => n > 0);
const ITER = Number(process.env.BENCH_ITER ?? 60);
/** Per case: stop early past this many ms, so a slow store still finishes (the count is reported). */
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 20_000);
const MODELS = 500;
const BASE = REGISTRY_MOUNT_PATH;

interface Case { name: string; method: "GET" | "POST"; path: string; body?: unknown; expect?: (body: string) => boolean }
interface Timing { p50: number; p95: number; cpuP50: number; cpuP95: number; n: number }
interface Result extends Timing { ratioP50: number; ratioP95: number; cpuRatioP50: number }

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;

/** Wall time, and this process's CPU time (client and server both live here): the CPU figure holds up on a busy machine. */
async function measure(c: RestClient, k: Case): Promise<Timing> {
  const times: number[] = [];
  const cpu: number[] = [];
  const began = performance.now();
  for (let i = 0; i < ITER + 3; i++) {
    const t = performance.now();
    const c0 = process.cpuUsage();
    const r = await c.call(k.method, k.path, k.body);
    const used = process.cpuUsage(c0);
    const dt = performance.now() - t;
    if (r.status !== 200 && !k.name.startsWith("floor: 404")) throw new Error(`${k.name}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    if (k.expect && !k.expect(r.body)) throw new Error(`${k.name}: unexpected answer ${r.body.slice(0, 300)}`);
    if (i >= 3) {
      // the first calls warm the JIT and SQLite's page cache
      times.push(dt);
      cpu.push((used.user + used.system) / 1000);
    }
    if (performance.now() - began > BUDGET_MS && times.length >= 3) break;
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { p50: pct(times, 0.5), p95: pct(times, 0.95), cpuP50: pct(cpu, 0.5), cpuP95: pct(cpu, 0.95), n: times.length };
}

const runsOf = (body: string): number => (JSON.parse(body) as { runs?: unknown[] }).runs?.length ?? 0;

async function atSize(n: number): Promise<Record<string, unknown>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-registry-"));
  const registry = createRegistryServer({ dataDir, log: createLogger("silent") });
  const app = new Hono().route(BASE, registry.routes);
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((r) => server.once("listening", r));
  const addr = server.address();
  const c = restClient(typeof addr === "object" && addr ? addr.port : 0);
  try {
    const t0 = performance.now();
    const { experimentId, firstRunId } = await seedRuns(c, BASE, "bench", n);
    await seedModels(c, BASE, MODELS);
    const seedSeconds = (performance.now() - t0) / 1000;
    const search = (body: Record<string, unknown>): Case["body"] => ({ experiment_ids: [experimentId], max_results: 100, ...body });
    const page100 = (b: string): boolean => runsOf(b) === 100;
    const cases: Case[] = [
      { name: "floor: runs/get", method: "GET", path: `${BASE}/mlflow/runs/get?run_id=${firstRunId}` },
      { name: "floor: 404", method: "GET", path: `${BASE}/mlflow/nope` },
      { name: "runs/search default order (newest 100)", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({}), expect: page100 },
      { name: "runs/search order metrics.accuracy DESC", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ order_by: ["metrics.accuracy DESC"] }), expect: page100 },
      { name: "runs/search order params.lr ASC", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ order_by: ["params.lr ASC"] }), expect: page100 },
      { name: "runs/search order attributes.run_name", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ order_by: ["attributes.run_name ASC"] }), expect: page100 },
      { name: "runs/search metrics.accuracy > 0.5 and params.lr = '0.01'", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ filter: "metrics.accuracy > 0.5 and params.lr = '0.01'" }), expect: page100 },
      { name: "runs/search tags.team = 'a' and run_name LIKE 'run-1%'", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ filter: "tags.team = 'a' and attributes.run_name LIKE 'run-1%'" }), expect: page100 },
      { name: "runs/search run_name ILIKE and status !=", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ filter: "attributes.run_name ILIKE 'RUN-2%' and attributes.status != 'FAILED'" }), expect: page100 },
      { name: "runs/search middle page by metric (offset n/2)", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ order_by: ["metrics.accuracy DESC"], page_token: encodeToken(Math.floor(n / 2)) }), expect: page100 },
      { name: "runs/search deep page by metric (last 100)", method: "POST", path: `${BASE}/mlflow/runs/search`, body: search({ order_by: ["metrics.accuracy DESC"], page_token: encodeToken(n - 100) }), expect: page100 },
      { name: "registered-models/search (100 of 500)", method: "GET", path: `${BASE}/mlflow/registered-models/search?max_results=100`, expect: (b) => (JSON.parse(b) as { registered_models?: unknown[] }).registered_models?.length === 100 },
      { name: "registered-models/search tag filter, name DESC", method: "GET", path: `${BASE}/mlflow/registered-models/search?${new URLSearchParams({ filter: "tags.team = 'b'", order_by: "name DESC", max_results: "100" })}` },
      { name: "registered-models/search last page", method: "GET", path: `${BASE}/mlflow/registered-models/search?${new URLSearchParams({ max_results: "100", page_token: encodeToken(MODELS - 100) })}` },
    ];
    const memBefore = process.memoryUsage();
    const raw = new Map<string, Timing>();
    for (const k of cases) raw.set(k.name, await measure(c, k));
    const memAfter = process.memoryUsage();
    const floor = raw.get("floor: runs/get") ?? { p50: NaN, p95: NaN, cpuP50: NaN, cpuP95: NaN, n: 0 };
    const results: Record<string, Result> = {};
    for (const [name, r] of raw) results[name] = { ...r, ratioP50: r.p50 / floor.p50, ratioP95: r.p95 / floor.p95, cpuRatioP50: r.cpuP50 / floor.cpuP50 };
    const memory = {
      rssMiB: [mib(memBefore.rss), mib(memAfter.rss)],
      heapUsedMiB: [mib(memBefore.heapUsed), mib(memAfter.heapUsed)],
    };
    console.log(`\nload average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; registry with ${n} runs, ${MODELS} models (seeded over REST in ${seedSeconds.toFixed(1)} s), up to ${ITER} calls per case (ms)`);
    console.log("case".padEnd(60), "p50".padStart(9), "p95".padStart(9), "p50/floor".padStart(10), "p95/floor".padStart(10), "cpu p50".padStart(9), "cpu p95".padStart(9), "cpu/floor".padStart(10), "n".padStart(4));
    for (const [name, r] of Object.entries(results)) {
      console.log(name.padEnd(60), r.p50.toFixed(2).padStart(9), r.p95.toFixed(2).padStart(9), r.ratioP50.toFixed(1).padStart(10), r.ratioP95.toFixed(1).padStart(10),
        r.cpuP50.toFixed(2).padStart(9), r.cpuP95.toFixed(2).padStart(9), r.cpuRatioP50.toFixed(1).padStart(10), String(r.n).padStart(4));
    }
    console.log(`memory before/after the searches: rss ${memory.rssMiB.join(" -> ")} MiB, heap used ${memory.heapUsedMiB.join(" -> ")} MiB`);
    return { runs: n, models: MODELS, seedSeconds, results, memory };
  } finally {
    c.close();
    await new Promise<void>((r) => server.close(() => r()));
    registry.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const out: Record<string, unknown> = {};
for (const n of SIZES) out[String(n)] = await atSize(n);
console.log(JSON.stringify({ bench: "registry", iterations: ITER, budgetMs: BUDGET_MS, sizes: out }));
