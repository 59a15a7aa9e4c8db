// Bench: server render time of the registry runs, compare and lineage (version) pages on the REAL embedded registry
// (10k runs seeded over its REST API, read through MlflowClient and MlflowModelRegistry as the platform wires them), the
// lineage's events from a REAL embedded broker's event log (5k events), and of the jobs page (10k jobs, fake training
// backend): p50 and p95, against a floor measured in the same run (the smallest request through the same app: a 404).
// Run: npx tsx bench/ui/run.ts  (BENCH_ITER, BENCH_BUDGET_MS)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { CloudEvent } from "cloudevents";
import { Hono } from "hono";
import { createUi } from "../../pages/index.tsx";
import { registryReader } from "../../pages/adapters.ts";
import { createLogger } from "../../platform/log.ts";
import { MlflowClient, MlflowModelRegistry } from "../../platform/mlflow/index.ts";
import { EmbeddedBroker } from "../../platform/local/broker/broker.ts";
import { TAG } from "../../platform/lineage.ts";
import { createRegistryServer, REGISTRY_MOUNT_PATH } from "../../platform/registry/index.ts";
import { makeFakes } from "../../test/unit/pages/fakes.ts";
import { seedRuns, type RestClient } from "../registry/seed.ts";

const N = Number(process.env.BENCH_RUNS ?? 10_000);
const ITER = Number(process.env.BENCH_ITER ?? 300);
/** Per case: stop early past this many ms (at least 5 samples), so a slow registry still finishes (n is reported). */
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 20_000);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ui-"));
const registry = createRegistryServer({ dataDir, log: createLogger("silent") });
const registryApp = new Hono().route(REGISTRY_MOUNT_PATH, registry.routes);
// In-process, as the embedded platform calls its registry (platform/app/embedded.ts inProcessFetch).
const inProcess = (input: string, init?: RequestInit): Promise<Response> => Promise.resolve(registryApp.fetch(new Request(input, init)));
const rest: RestClient = {
  async call(method, p, body) {
    const res = await inProcess(`http://registry.local${p}`, body === undefined ? { method } : { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.text() };
  },
  close: () => undefined,
};
const t0 = performance.now();
const { experimentId } = await seedRuns(rest, REGISTRY_MOUNT_PATH, "ui-bench", N);
const seedSeconds = (performance.now() - t0) / 1000;
const mlflow = new MlflowClient({ trackingUri: "http://registry.local", fetch: inProcess });

// A registered model whose versions come from seeded runs, tagged as log-model tags them (job, spec, dataset).
const MODEL = "bench-iris";
const VERSIONS = 20;
const someRuns = (await mlflow.searchRuns({ experimentIds: [experimentId], maxResults: 20, orderBy: ["metrics.accuracy DESC"] })).items.map((r) => r.info.run_id);
await rest.call("POST", `${REGISTRY_MOUNT_PATH}/mlflow/registered-models/create`, { name: MODEL });
for (let v = 1; v <= VERSIONS; v++) {
  const runId = someRuns[(v - 1) % someRuns.length] ?? "";
  const tags = [
    { key: TAG.jobId, value: `bench-iris-job-${v}` },
    { key: TAG.trainingSpec, value: JSON.stringify({ kind: "single", model: MODEL, dataset: "s3://bench/iris.csv" }) },
    { key: TAG.trigger, value: JSON.stringify({ reason: "manual" }) },
    { key: TAG.dataset, value: "s3://bench/iris.csv" },
  ];
  const res = await rest.call("POST", `${REGISTRY_MOUNT_PATH}/mlflow/model-versions/create`, { name: MODEL, source: `s3://bench/models/${v}`, run_id: runId, tags });
  if (res.status !== 200) throw new Error(`model-versions/create: ${res.status} ${res.body.slice(0, 200)}`);
}

// A real broker's event log: 5000 events, one in 100 about the benched version (its job or model+version).
const EVENTS = 5000;
const broker = new EmbeddedBroker({ dbPath: path.join(dataDir, "broker.sqlite"), triggers: [], deliver: async () => ({ status: 200, headers: {}, body: "" }), log: createLogger("silent") });
const e0 = performance.now();
for (let i = 0; i < EVENTS; i++) {
  const about = i % 100 === 0 ? { model: MODEL, version: "7", jobId: "bench-iris-job-7" } : { model: `other-${i % 37}`, version: String(i % 11), jobId: `job-${i}` };
  await broker.emit(new CloudEvent({ type: i % 2 ? "dev.bench.activity" : "dev.bench.status", source: "/bench/ui", id: `bench-${i}`, data: about }));
}
const eventSeconds = (performance.now() - e0) / 1000;

const fakes = makeFakes({ jobs: N, runs: 0 });
const app = createUi({
  ...fakes.deps,
  registry: registryReader(mlflow),
  models: new MlflowModelRegistry(mlflow),
  events: {
    ...fakes.deps.events,
    recentEvents: async (q) => broker.recentEvents(q),
    // The lineage selects the version's events in SQL, as uiDepsFrom wires it.
    eventsAbout: async (q) => broker.eventsAbout(q),
  },
});

/** Wall time, and CPU time of this process (UI and registry both live here): the CPU figure holds up on a busy machine. */
async function measure(url: string): Promise<{ p50: number; p95: number; cpuP50: number; cpuP95: number; bytes: number; n: number }> {
  const times: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  const began = performance.now();
  for (let i = 0; i < ITER + 20; i++) {
    const t = performance.now();
    const c0 = process.cpuUsage();
    const res = await app.request(url, { headers: { accept: "text/html" } });
    const body = await res.text();
    const used = process.cpuUsage(c0);
    const dt = performance.now() - t;
    if (res.status !== 200 && !url.startsWith("/nope")) throw new Error(`${url}: HTTP ${res.status} ${body.slice(0, 300)}`);
    bytes = body.length;
    if (i >= 20) {
      // the first requests warm the JIT
      times.push(dt);
      cpu.push((used.user + used.system) / 1000);
    }
    if (performance.now() - began > BUDGET_MS && times.length >= 5) break;
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const at = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
  return { p50: at(times, 0.5), p95: at(times, 0.95), cpuP50: at(cpu, 0.5), cpuP95: at(cpu, 0.95), bytes, n: times.length };
}

// The compare page must show every run asked for (it finds them with one run_id IN search).
{
  const html = await (await app.request(`/registry/compare?runs=${someRuns.join(",")}`, { headers: { accept: "text/html" } })).text();
  const missing = someRuns.filter((id) => !html.includes(`/registry/runs/${id}`));
  if (missing.length) throw new Error(`compare page lacks runs ${missing.join(", ")}`);
}

// MLflow page tokens are base64 {"offset": n}; the page's own "Next" link carries one.
const token = (offset: number): string => encodeURIComponent(Buffer.from(JSON.stringify({ offset })).toString("base64"));
const exp = `/registry/experiments/${experimentId}`;
const cases: [string, string][] = [
  ["floor (404 page)", "/nope"],
  ["runs page 1 (50 rows, newest)", exp],
  ["runs sorted by metric (50 rows)", `${exp}?sort=metrics.accuracy&dir=DESC`],
  ["runs sorted by param (50 rows)", `${exp}?sort=params.lr&dir=ASC`],
  ["runs sorted by name (50 rows)", `${exp}?sort=attributes.run_name&dir=ASC`],
  ["runs last page (offset 9950)", `${exp}?limit=50&page_token=${token(N - 50)}`],
  ["runs 500 rows", `${exp}?limit=500`],
  ["compare 2 runs", `/registry/compare?runs=${someRuns.slice(0, 2).join(",")}`],
  ["compare 20 runs", `/registry/compare?runs=${someRuns.slice(0, 20).join(",")}`],
  ["lineage (version page, 5k events)", `/models/${MODEL}/versions/7`],
  ["jobs page 1 (50 rows)", "/training/jobs"],
  ["jobs last page (offset 9950)", "/training/jobs?offset=9950&limit=50"],
  ["jobs 200 rows", "/training/jobs?limit=200"],
];

const results: Record<string, { p50: number; p95: number; cpuP50: number; cpuP95: number; bytes: number; n: number; ratioP50: number; ratioP95: number }> = {};
let floor = { p50: 0, p95: 0 };
// A full collection before each reading, so "after" shows what the requests retained, not garbage not yet collected.
v8.setFlagsFromString("--expose-gc");
const fullGc = vm.runInNewContext("gc") as () => void;
const settled = (): NodeJS.MemoryUsage => (fullGc(), process.memoryUsage());
const memBefore = process.memoryUsage();
const gcBefore = settled();
for (const [name, url] of cases) {
  const r = await measure(url);
  if (!floor.p50) floor = r;
  results[name] = { ...r, ratioP50: r.p50 / floor.p50, ratioP95: r.p95 / floor.p95 };
}
const memAfter = process.memoryUsage();
const gcAfter = settled();
registry.close();
await broker.stop();
fs.rmSync(dataDir, { recursive: true, force: true });

const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const memory = {
  rssMiB: [mib(memBefore.rss), mib(memAfter.rss)],
  heapUsedMiB: [mib(memBefore.heapUsed), mib(memAfter.heapUsed)],
  afterFullGc: { rssMiB: [mib(gcBefore.rss), mib(gcAfter.rss)], heapUsedMiB: [mib(gcBefore.heapUsed), mib(gcAfter.heapUsed)] },
};
console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; UI render time: runs page on the embedded registry with ${N} runs (seeded in ${seedSeconds.toFixed(1)} s), compare and lineage on it with ${EVENTS} broker events (emitted in ${eventSeconds.toFixed(1)} s), jobs page on ${N} fake jobs, ${ITER} requests each (ms)`);
console.log("case".padEnd(36), "p50".padStart(8), "p95".padStart(8), "p50/floor".padStart(10), "p95/floor".padStart(10), "cpu p50".padStart(8), "cpu p95".padStart(8), "KiB".padStart(7), "n".padStart(4));
for (const [name, r] of Object.entries(results)) {
  console.log(name.padEnd(36), r.p50.toFixed(2).padStart(8), r.p95.toFixed(2).padStart(8), r.ratioP50.toFixed(1).padStart(10), r.ratioP95.toFixed(1).padStart(10),
    r.cpuP50.toFixed(2).padStart(8), r.cpuP95.toFixed(2).padStart(8), (r.bytes / 1024).toFixed(1).padStart(7), String(r.n).padStart(4));
}
console.log(`memory before/after the requests: rss ${memory.rssMiB.join(" -> ")} MiB, heap used ${memory.heapUsedMiB.join(" -> ")} MiB`);
console.log(`after a full GC each time (what the requests retained): rss ${memory.afterFullGc.rssMiB.join(" -> ")} MiB, heap used ${memory.afterFullGc.heapUsedMiB.join(" -> ")} MiB`);
console.log(JSON.stringify({ bench: "ui", runs: N, jobs: N, iterations: ITER, seedSeconds, results, memory }));
