// Embedded V2 server throughput vs an in-process session.run loop on the same Iris model, and V2 over HTTP vs a hono
// JSON echo of the same body (the HTTP floor), with and without adaptive batching, at 1, 8 and 32 clients. The HTTP
// cases are interleaved and repeated; medians of the per-repeat ratios are reported, by req/s, p99 and CPU time per
// request (this process, server and client: steadier than req/s on a loaded machine). Control rows, the echo plus a
// bare model run on the body's data (on the event loop, and in a worker thread), show the unbatched ceiling the model
// run alone leaves. Every V2 case runs with the model on the event loop and in BENCH_ONNX_WORKERS worker threads
// (default 1; FLYWHEEL_ONNX_WORKERS), interleaved; then a model with millisecond runs, where the worker keeps health
// checks from waiting behind runs (slow-model.ts). Measures; never asserts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import ort from "onnxruntime-node";
import { Registry } from "prom-client";
import { run, DEFAULT_PARAMS } from "../../examples/iris-node/train.ts";
import { v2Routes } from "../../platform/serving/local/routes.ts";
import { OrtWorkerPool } from "../../platform/serving/local/ort-worker.ts";
import { EmbeddedV2Server } from "../../platform/serving/local/server.ts";
import { inlineRunner } from "../../platform/serving/local/session-runner.ts";
import { onnxSessionOptions } from "../../platform/serving/onnx-options.ts";
import { echoApp, modelEchoApp, poster } from "./http.ts";
import { slowModelRows } from "./slow-model.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** In-process rows run at the highest; the HTTP rows at each. */
const CONCURRENCY = [1, 8, 32];
const IN_PROCESS_CONCURRENCY = 32;
const ROW = [5.1, 3.5, 1.4, 0.2];
const WORKERS = Number(process.env.BENCH_ONNX_WORKERS ?? 1);

async function timed(fn: () => Promise<unknown>, concurrency: number): Promise<number> {
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn();
        done++;
      }
    }),
  );
  return done / SECONDS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Run {
  readonly rps: number;
  readonly p99: number;
  readonly cpuUs: number;
}

/** `concurrency` clients calling `fn` for SECONDS: req/s, p99 latency (ms) and CPU µs per request. */
async function loadRun(fn: () => Promise<unknown>, concurrency: number): Promise<Run> {
  const lat: number[] = [];
  const cpu = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await fn();
        lat.push(performance.now() - t);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  lat.sort((a, b) => a - b);
  return { rps: lat.length / SECONDS, p99: lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))] ?? 0, cpuUs: (used.user + used.system) / Math.max(1, lat.length) };
}

async function listen(app: Hono): Promise<{ close: () => Promise<void>; post: ReturnType<typeof poster>["post"] }> {
  const http = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  // A client's sockets idle while the other cases run, longer than node's 5 s keep-alive timeout: a request sent just as
  // the server closed its socket failed the whole run with ECONNRESET. Same setting for the echo and V2 servers.
  if ("keepAliveTimeout" in http) http.keepAliveTimeout = 120_000;
  await new Promise((r) => http.once("listening", r));
  const addr = http.address();
  const client = poster(typeof addr === "object" && addr ? addr.port : 0);
  return {
    post: client.post,
    close: async () => {
      client.close();
      await new Promise((r) => http.close(r));
    },
  };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-serving-"));
  const modelFile = path.join(run({ ...DEFAULT_PARAMS, epochs: 50 }, tmp).outDir, "model", "model.onnx");
  // The control's session takes the V2 server's default threading, so it stays the ceiling of the same runtime setup.
  const session = await ort.InferenceSession.create(modelFile, onnxSessionOptions());
  const floor = await timed(() => session.run({ input: new ort.Tensor("float32", Float32Array.from(ROW), [1, 4]) }), 1);

  const rows: { mode: string; concurrency?: number; rps: number; p99?: number; vsEcho?: number; cpuUs?: number; cpuVsEcho?: number }[] = [{ mode: "session.run loop (floor)", rps: floor }];
  const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }] });
  const echo = await listen(echoApp());
  const controls = [
    { label: "echo + bare session.run (control)", runner: await inlineRunner(modelFile, onnxSessionOptions()) },
    { label: `echo + run in ${WORKERS} worker(s) (control)`, runner: await OrtWorkerPool.start({ label: "control", model: modelFile, options: onnxSessionOptions(), threads: WORKERS }) },
  ];
  const controlHttp = await Promise.all(controls.map((c) => listen(modelEchoApp(c.runner))));
  const variants = [];
  for (const [batching, workers] of [[undefined, 0], [undefined, WORKERS], [{ maxBatchSize: 32, maxBatchTimeMs: 1 }, 0], [{ maxBatchSize: 32, maxBatchTimeMs: 1 }, WORKERS]] as const) {
    const server = new EmbeddedV2Server({ registry: new Registry(), batching, onnxWorkers: workers });
    await server.loadModel({ name: "iris", version: "1", model: modelFile });
    const label = `${batching ? "batching 32/1ms" : "no batching"}, ${workers ? `${workers} worker(s)` : "inline"}`;
    const req = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32" as const, data: ROW }] };
    rows.push({ mode: `server.infer in-process, ${label}, c=${IN_PROCESS_CONCURRENCY}`, rps: await timed(() => server.infer("iris", undefined, req), IN_PROCESS_CONCURRENCY) });
    variants.push({ label, server, http: await listen(new Hono().route("/v2", v2Routes(server))) });
  }
  // At each concurrency: echo, unbatched, batched back to back, the triple repeated: load on the shared machine hits
  // all alike. Ratios are taken per repeat (against the echo of the same repeat), then the median.
  for (const concurrency of CONCURRENCY) {
    const echoRuns: Run[] = [];
    const controlRuns: Run[][] = controls.map(() => []);
    const v2Runs: Run[][] = variants.map(() => []);
    for (let r = 0; r < REPEATS; r++) {
      echoRuns.push(await loadRun(() => echo.post("/echo", body), concurrency));
      for (const [i, c] of controlHttp.entries()) controlRuns[i]?.push(await loadRun(() => c.post("/echo", body), concurrency));
      for (const [i, v] of variants.entries()) {
        v2Runs[i]?.push(
          await loadRun(async () => {
            const res = await v.http.post("/v2/models/iris/infer", body);
            if (res.status !== 200) throw new Error(`status ${res.status}`);
          }, concurrency),
        );
      }
    }
    const echoRps = echoRuns.map((x) => x.rps);
    const echoCpu = echoRuns.map((x) => x.cpuUs);
    rows.push({ mode: `hono JSON echo over HTTP (HTTP floor), c=${concurrency}`, concurrency, rps: median(echoRps), p99: median(echoRuns.map((x) => x.p99)), vsEcho: 1, cpuUs: median(echoCpu), cpuVsEcho: 1 });
    // The control (echo + bare session.run, no V2 work): the unbatched ceiling, next to the V2 rows it bounds.
    const cases = [...controls.map((c, i): [string, Run[]] => [c.label, controlRuns[i] ?? []]), ...variants.map((v, i): [string, Run[]] => [`V2 over HTTP, ${v.label}`, v2Runs[i] ?? []])];
    for (const [label, runs] of cases) {
      // cpuVsEcho: echo's CPU per request over this one's (1 = as cheap as the echo; what req/s would be on idle cores).
      rows.push({
        mode: `${label}, c=${concurrency}`,
        concurrency,
        rps: median(runs.map((x) => x.rps)),
        p99: median(runs.map((x) => x.p99)),
        vsEcho: median(runs.map((x, k) => x.rps / (echoRps[k] ?? 1))),
        cpuUs: median(runs.map((x) => x.cpuUs)),
        cpuVsEcho: median(runs.map((x, k) => (echoCpu[k] ?? 0) / x.cpuUs)),
      });
    }
  }
  for (const v of variants) {
    await v.http.close();
    await v.server.close();
  }
  await echo.close();
  for (const c of controlHttp) await c.close();
  for (const c of controls) await c.runner.release();
  await session.release();
  fs.rmSync(tmp, { recursive: true, force: true });
  const slow = await slowModelRows(WORKERS, SECONDS, REPEATS);
  const loadavg = os.loadavg().map((x) => +x.toFixed(2));

  console.log(`load average ${loadavg.join(" ")}; HTTP rows: median of ${REPEATS} interleaved repeats`);
  const fixed = (v: number | undefined, d: number): string => (v === undefined ? "" : v.toFixed(d));
  console.log("mode".padEnd(60), "req/s".padStart(10), "x floor".padStart(9), "x echo".padStart(8), "p99 ms".padStart(8), "cpu us/req".padStart(11), "cpu x echo".padStart(11));
  for (const r of rows) console.log(r.mode.padEnd(60), r.rps.toFixed(0).padStart(10), (r.rps / floor).toFixed(2).padStart(9), fixed(r.vsEcho, 2).padStart(8), fixed(r.p99, 2).padStart(8), fixed(r.cpuUs, 0).padStart(11), fixed(r.cpuVsEcho, 2).padStart(11));
  console.log("slow-model case".padEnd(60), "req/s".padStart(10), "cpu us/req".padStart(11), "health p50 ms".padStart(14), "health p99 ms".padStart(14));
  for (const r of slow) console.log(r.mode.padEnd(60), r.rps.toFixed(0).padStart(10), r.cpuUs.toFixed(0).padStart(11), r.healthP50.toFixed(2).padStart(14), r.healthP99.toFixed(2).padStart(14));
  const round = (v: number | undefined, d: number): number | undefined => (v === undefined ? undefined : Number(v.toFixed(d)));
  console.log(JSON.stringify({ bench: "serving", seconds: SECONDS, repeats: REPEATS, concurrency: CONCURRENCY, cpus: os.cpus().length, loadavg, results: rows.map((r) => ({ ...r, rps: Math.round(r.rps), ratio: Number((r.rps / floor).toFixed(3)), vsEcho: round(r.vsEcho, 3), p99: round(r.p99, 2), cpuUs: round(r.cpuUs, 1), cpuVsEcho: round(r.cpuVsEcho, 3) })), slowModel: slow.map((r) => ({ ...r, rps: Math.round(r.rps), cpuUs: Math.round(r.cpuUs), healthP50: round(r.healthP50, 2), healthP99: round(r.healthP99, 2) })) }));
}

void main();
