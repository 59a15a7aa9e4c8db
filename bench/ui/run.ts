// Bench: server render time of the registry runs page and the jobs page with 10k runs/jobs (fake deps), p50 and p95,
// against a floor measured in the same run (the smallest request through the same app: a 404 page).
import { performance } from "node:perf_hooks";
import { createUi } from "../../pages/index.tsx";
import type { Paged, UiRun } from "../../pages/deps.ts";
import { makeFakes } from "../../test/unit/pages/fakes.ts";

const N = 10_000;
const ITER = Number(process.env.BENCH_ITER ?? 300);

const fakes = makeFakes({ jobs: N, runs: N });
// The registry sorts and pages in SQL; here each order is sorted once so the bench measures the UI, not the fake.
const inner = fakes.deps.registry.searchRuns.bind(fakes.deps.registry);
const sorted = new Map<string, UiRun[]>();
const registry = {
  ...fakes.deps.registry,
  async searchRuns(q: Parameters<typeof inner>[0]): Promise<Paged<UiRun>> {
    const key = q.orderBy.join(",");
    let all = sorted.get(key);
    if (!all) sorted.set(key, (all = [...(await inner({ ...q, maxResults: N, pageToken: undefined })).items]));
    const start = Number(q.pageToken ?? "0");
    return { items: all.slice(start, start + q.maxResults), nextPageToken: start + q.maxResults < all.length ? String(start + q.maxResults) : undefined };
  },
};
const app = createUi({ ...fakes.deps, registry });

async function measure(url: string): Promise<{ p50: number; p95: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < ITER + 20; i++) {
    const t0 = performance.now();
    const res = await app.request(url, { headers: { accept: "text/html" } });
    const body = await res.text();
    const dt = performance.now() - t0;
    if (res.status !== 200 && !url.startsWith("/nope")) throw new Error(`${url}: HTTP ${res.status}`);
    bytes = body.length;
    if (i >= 20) times.push(dt); // the first requests warm the JIT
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), bytes };
}

const cases: [string, string][] = [
  ["floor (404 page)", "/nope"],
  ["runs page 1 (50 rows, newest)", "/registry/experiments/1"],
  ["runs sorted by metric (50 rows)", "/registry/experiments/1?sort=metrics.accuracy&dir=DESC"],
  ["runs last page (offset 9950)", "/registry/experiments/1?limit=50&page_token=9950"],
  ["runs 500 rows", "/registry/experiments/1?limit=500"],
  ["jobs page 1 (50 rows)", "/training/jobs"],
  ["jobs last page (offset 9950)", "/training/jobs?offset=9950&limit=50"],
  ["jobs 200 rows", "/training/jobs?limit=200"],
];

const results: Record<string, { p50: number; p95: number; bytes: number; ratioP50: number }> = {};
let floor = 0;
for (const [name, url] of cases) {
  const r = await measure(url);
  if (!floor) floor = r.p50;
  results[name] = { ...r, ratioP50: r.p50 / floor };
}

console.log(`UI render time with ${N} runs and ${N} jobs, ${ITER} requests each (ms)`);
console.log("case".padEnd(36), "p50".padStart(8), "p95".padStart(8), "x floor".padStart(8), "KiB".padStart(7));
for (const [name, r] of Object.entries(results)) {
  console.log(name.padEnd(36), r.p50.toFixed(2).padStart(8), r.p95.toFixed(2).padStart(8), r.ratioP50.toFixed(1).padStart(8), (r.bytes / 1024).toFixed(1).padStart(7));
}
console.log(JSON.stringify({ bench: "ui", runs: N, jobs: N, iterations: ITER, results }));
