// Bench: what drift detection costs the infer path: the counters every replica runs (DriftCounters, what Prometheus'
// PSI rules read) and the embedded in-process monitor, each vs a no-op observer (the floor); how fast windows are
// scored; and the series each model version exports.
import { performance } from "node:perf_hooks";
import { Registry } from "prom-client";
import { DriftCounters, DriftMonitor, parseBaseline, seriesPerVersion } from "../../platform/drift/index.ts";
import type { DriftObservation, DriftObserver } from "../../platform/ports.ts";

const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
const baseline = parseBaseline({
  version: 1,
  features: Object.fromEntries(FEATURES.map((f) => [f, { type: "numeric", edges: Array.from({ length: 11 }, (_, i) => i * 0.8), counts: [9, 19, 12, 26, 16, 22, 21, 13, 6, 6] }])),
  predictions: { type: "categorical", frequencies: { setosa: 0.33, versicolor: 0.34, virginica: 0.33 } },
});

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 8;
const LABELS = ["setosa", "versicolor", "virginica"];
/** One request's observation: `rows` flowers. */
const obs = (rows: number, version = "1"): DriftObservation => ({
  model: "iris",
  version,
  features: Object.fromEntries(FEATURES.map((f) => [f, Array.from({ length: rows }, rand)])),
  predictions: Array.from({ length: rows }, (_, i) => LABELS[i % 3] ?? "setosa"),
});

const tick = () => new Promise<void>((r) => setImmediate(r));

/** ns per observe() on the request path, calls issued in request-sized bursts with the event loop turning between. */
async function observeCost(observer: DriftObserver, requests: number, burst: number, rows: number): Promise<{ nsPerCall: number; wallMs: number }> {
  const pool = Array.from({ length: 256 }, () => obs(rows));
  let inCalls = 0;
  const t0 = performance.now();
  for (let i = 0; i < requests; i += burst) {
    const s = performance.now();
    for (let j = 0; j < burst; j++) {
      const o = pool[(i + j) & 255];
      if (o) observer.observe(o);
    }
    inCalls += performance.now() - s;
    await tick();
  }
  return { nsPerCall: (inCalls * 1e6) / requests, wallMs: performance.now() - t0 };
}

async function scoringThroughput(windowSize: number, passes: number): Promise<{ msPerPass: number; rowsPerSec: number }> {
  const m = new DriftMonitor({ registry: new Registry(), loadBaseline: async () => baseline, windowSize, minSamples: 1, scoreIntervalMs: 3_600_000 });
  for (let i = 0; i < windowSize / 10; i++) m.observe(obs(10));
  await m.flush(); // loads the baseline, fills the window
  let ms = 0;
  for (let p = 0; p < passes; p++) {
    m.observe(obs(1)); // marks the window dirty
    const s = performance.now();
    await m.flush();
    ms += performance.now() - s;
  }
  m.close();
  const msPerPass = ms / passes;
  return { msPerPass, rowsPerSec: (windowSize * (FEATURES.length + 1)) / (msPerPass / 1000) };
}

async function main(): Promise<void> {
  const requests = 200_000;
  const burst = 50;
  const results: Record<string, number> = {};
  // Warm-up, then measure alternately so both see the same JIT state.
  const noop: DriftObserver = { observe: () => undefined };
  const monitor = new DriftMonitor({ registry: new Registry(), loadBaseline: async () => baseline, scoreIntervalMs: 1000 });
  await observeCost(noop, 20_000, burst, 1);
  await observeCost(monitor, 20_000, burst, 1);
  const counters = new DriftCounters({ registry: new Registry(), loadBaseline: async () => baseline });
  counters.observe(obs(1));
  await counters.settled();
  await observeCost(counters, 20_000, burst, 1);
  const floor = await observeCost(noop, requests, burst, 1);
  const counted = await observeCost(counters, requests, burst, 1);
  const counted32 = await observeCost(counters, requests / 10, burst, 32);
  const one = await observeCost(monitor, requests, burst, 1);
  const batch = await observeCost(monitor, requests / 10, burst, 32);
  await monitor.flush();
  monitor.close();
  results.noopNsPerObserve = floor.nsPerCall;
  results.countersNsPerObserve1Row = counted.nsPerCall;
  results.countersNsPerObserve32Rows = counted32.nsPerCall;
  results.countersRatioVsNoop = counted.nsPerCall / floor.nsPerCall;
  const series = seriesPerVersion(baseline);
  results.seriesPerVersion = series.total;
  results.binSeriesPerVersion = series.counters;
  results.monitorNsPerObserve1Row = one.nsPerCall;
  results.monitorNsPerObserve32Rows = batch.nsPerCall;
  results.observeOverheadNs = one.nsPerCall - floor.nsPerCall;
  results.observeRatioVsNoop = one.nsPerCall / floor.nsPerCall;
  // Off-path cost per request (window insertion in the setImmediate drain), from wall time.
  results.offPathUsPerRequest = ((one.wallMs - floor.wallMs) * 1000) / requests;
  results.droppedDuringBench = monitor.dropped;
  for (const w of [1000, 10_000]) {
    const s = await scoringThroughput(w, 50);
    results[`scoreMsPerPass_window${w}`] = s.msPerPass;
    results[`scoredValuesPerSec_window${w}`] = s.rowsPerSec;
  }

  const rows: [string, string][] = [
    ["observe(), no-op observer (floor)", `${results.noopNsPerObserve.toFixed(0)} ns/call`],
    ["observe(), DriftCounters (Prometheus PSI), 1 row", `${results.countersNsPerObserve1Row.toFixed(0)} ns/call (x${results.countersRatioVsNoop.toFixed(2)} floor)`],
    ["observe(), DriftCounters, 32 rows", `${results.countersNsPerObserve32Rows.toFixed(0)} ns/call`],
    ["series per model version and replica", `${results.seriesPerVersion} (${results.binSeriesPerVersion} bin counters + as many baseline gauges + ${series.outliers} outlier counters)`],
    ["observe(), DriftMonitor, 1 row", `${results.monitorNsPerObserve1Row.toFixed(0)} ns/call (x${results.observeRatioVsNoop.toFixed(2)} floor, +${results.observeOverheadNs.toFixed(0)} ns)`],
    ["observe(), DriftMonitor, 32 rows", `${results.monitorNsPerObserve32Rows.toFixed(0)} ns/call`],
    ["off-path windowing per request", `${results.offPathUsPerRequest.toFixed(2)} us`],
    ["score pass, window 1000 (4 features + predictions)", `${results.scoreMsPerPass_window1000?.toFixed(3)} ms (${((results.scoredValuesPerSec_window1000 ?? 0) / 1e6).toFixed(1)} M values/s)`],
    ["score pass, window 10000", `${results.scoreMsPerPass_window10000?.toFixed(3)} ms (${((results.scoredValuesPerSec_window10000 ?? 0) / 1e6).toFixed(1)} M values/s)`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  console.log(JSON.stringify({ bench: "drift", requests, burst, ...results }));
}

await main();
