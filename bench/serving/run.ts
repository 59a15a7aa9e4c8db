// Embedded V2 server throughput vs an in-process session.run loop on the same Iris model, and V2 over HTTP vs a hono
// JSON echo of the same body (the HTTP floor), with and without adaptive batching. The HTTP cases are interleaved and
// repeated; medians of the per-repeat ratios are reported, by req/s and by CPU time per request (this process, server
// and client: steadier than req/s on a loaded machine). Measures; never asserts. Prints a table and a JSON line.
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
import { EmbeddedV2Server } from "../../platform/serving/local/server.ts";
import { poster } from "./http.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CONCURRENCY = 32;
const ROW = [5.1, 3.5, 1.4, 0.2];

/** CPU time (this process: server and client) per request in the last timed() call; steadier than req/s under load. */
let lastCpuUs = 0;

async function timed(fn: () => Promise<unknown>, concurrency: number): Promise<number> {
  let done = 0;
  const cpu = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn();
        done++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  lastCpuUs = (used.user + used.system) / Math.max(1, done);
  return done / SECONDS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function listen(app: Hono): Promise<{ close: () => Promise<void>; post: ReturnType<typeof poster>["post"] }> {
  const http = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
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
  const session = await ort.InferenceSession.create(modelFile);
  const floor = await timed(() => session.run({ input: new ort.Tensor("float32", Float32Array.from(ROW), [1, 4]) }), 1);

  const rows: { mode: string; rps: number; vsEcho?: number; cpuUs?: number; cpuVsEcho?: number }[] = [{ mode: "session.run loop (floor)", rps: floor }];
  const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }] });
  // The HTTP stack's own ceiling: a hono route that only parses and echoes the same JSON body.
  const echoApp = new Hono();
  echoApp.post("/echo", async (c) => c.json(await c.req.json()));
  const echo = await listen(echoApp);
  const variants = [];
  for (const batching of [undefined, { maxBatchSize: 32, maxBatchTimeMs: 1 }]) {
    const server = new EmbeddedV2Server({ registry: new Registry(), batching });
    await server.loadModel({ name: "iris", version: "1", model: modelFile });
    const label = batching ? "batching 32/1ms" : "no batching";
    const req = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32" as const, data: ROW }] };
    rows.push({ mode: `server.infer in-process, ${label}, c=${CONCURRENCY}`, rps: await timed(() => server.infer("iris", undefined, req), CONCURRENCY) });
    variants.push({ label, server, http: await listen(new Hono().route("/v2", v2Routes(server))) });
  }
  // Echo, unbatched, batched back to back, the triple repeated: load on the shared machine hits all alike.
  const echoRps: number[] = [];
  const echoCpu: number[] = [];
  const v2Rps: number[][] = variants.map(() => []);
  const v2Cpu: number[][] = variants.map(() => []);
  for (let r = 0; r < REPEATS; r++) {
    echoRps.push(await timed(() => echo.post("/echo", body), CONCURRENCY));
    echoCpu.push(lastCpuUs);
    for (const [i, v] of variants.entries()) {
      v2Rps[i]?.push(
        await timed(async () => {
          const res = await v.http.post("/v2/models/iris/infer", body);
          if (res.status !== 200) throw new Error(`status ${res.status}`);
        }, CONCURRENCY),
      );
      v2Cpu[i]?.push(lastCpuUs);
    }
  }
  rows.push({ mode: `hono JSON echo over HTTP (HTTP floor), c=${CONCURRENCY}`, rps: median(echoRps), vsEcho: 1, cpuUs: median(echoCpu), cpuVsEcho: 1 });
  for (const [i, v] of variants.entries()) {
    const xs = v2Rps[i] ?? [];
    const cs = v2Cpu[i] ?? [];
    // cpuVsEcho: echo's CPU per request over this one's (1 = as cheap as the echo; what req/s would be on idle cores).
    rows.push({ mode: `V2 over HTTP, ${v.label}, c=${CONCURRENCY}`, rps: median(xs), vsEcho: median(xs.map((x, k) => x / (echoRps[k] ?? 1))), cpuUs: median(cs), cpuVsEcho: median(cs.map((c, k) => (echoCpu[k] ?? 0) / c)) });
    await v.http.close();
    await v.server.close();
  }
  await echo.close();
  await session.release();
  fs.rmSync(tmp, { recursive: true, force: true });
  const loadavg = os.loadavg().map((x) => +x.toFixed(2));

  console.log(`load average ${loadavg.join(" ")}; HTTP rows: median of ${REPEATS} interleaved repeats`);
  const fixed = (v: number | undefined, d: number): string => (v === undefined ? "" : v.toFixed(d));
  console.log("mode".padEnd(52), "req/s".padStart(10), "x floor".padStart(9), "x echo".padStart(8), "cpu us/req".padStart(11), "cpu x echo".padStart(11));
  for (const r of rows) console.log(r.mode.padEnd(52), r.rps.toFixed(0).padStart(10), (r.rps / floor).toFixed(2).padStart(9), fixed(r.vsEcho, 2).padStart(8), fixed(r.cpuUs, 0).padStart(11), fixed(r.cpuVsEcho, 2).padStart(11));
  const round = (v: number | undefined, d: number): number | undefined => (v === undefined ? undefined : Number(v.toFixed(d)));
  console.log(JSON.stringify({ bench: "serving", seconds: SECONDS, repeats: REPEATS, concurrency: CONCURRENCY, cpus: os.cpus().length, loadavg, results: rows.map((r) => ({ ...r, rps: Math.round(r.rps), ratio: Number((r.rps / floor).toFixed(3)), vsEcho: round(r.vsEcho, 3), cpuUs: round(r.cpuUs, 1), cpuVsEcho: round(r.cpuVsEcho, 3) })) }));
}

void main();
