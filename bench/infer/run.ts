// infer and V2 on the real embedded platform (auth, access and CSRF middleware included), over HTTP on its one port:
// (1) sequential latency, infer plain record -> decoded label vs a direct V2 call to the same server; (2) throughput
// and p99 of /infer and /v2 at concurrency 1, 8 and 32 against a hono JSON echo (the HTTP floor) served by the same
// process. Every case is interleaved with its floor and repeated; medians are reported. Measures; never asserts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { run, DEFAULT_PARAMS } from "../../examples/iris-node/train.ts";
import { startEmbedded } from "../../platform/app/start.ts";
import { resolveModelDir } from "../../platform/serving/mlmodel.ts";
import { DeploymentSpecSchema } from "../../platform/specs/deployment.ts";
import { echoApp, poster } from "../serving/http.ts";

const N = Number(process.env.BENCH_REQUESTS ?? 600);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CONCURRENCY = [1, 8, 32];
const WARMUP = 200;

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
const median = (xs: number[]): number => pct([...xs].sort((a, b) => a - b), 0.5);
const port = (s: ReturnType<typeof serve>): number => {
  const a = s.address();
  return typeof a === "object" && a ? a.port : 0;
};

type Post = (path: string, body: string) => Promise<{ status: number; body: string }>;
interface Case {
  readonly name: string;
  readonly post: Post;
  readonly path: string;
  readonly body: string;
  readonly check: (body: string) => boolean;
}

async function call(c: Case): Promise<number> {
  const t = performance.now();
  const res = await c.post(c.path, c.body);
  const ms = performance.now() - t;
  if (res.status !== 200 || !c.check(res.body)) throw new Error(`${c.name}: unexpected answer ${res.status} ${res.body.slice(0, 200)}`);
  return ms;
}

/** Requests per second, p99 latency and CPU µs per request (this process: server and client) of `c` with `concurrency` clients for SECONDS. */
async function load(c: Case, concurrency: number): Promise<{ rps: number; p99: number; cpuUs: number }> {
  const lat: number[] = [];
  const cpu = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) lat.push(await call(c));
    }),
  );
  const used = process.cpuUsage(cpu);
  return { rps: lat.length / SECONDS, p99: pct(lat.sort((a, b) => a - b), 0.99), cpuUs: (used.user + used.system) / Math.max(1, lat.length) };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-infer-"));
  const out = run({ ...DEFAULT_PARAMS, epochs: 50 }, path.join(tmp, "train")).outDir;
  const started = await startEmbedded({ env: { FLYWHEEL_LOG_LEVEL: "error", PATH: process.env.PATH, HOME: process.env.HOME }, port: 0, host: "127.0.0.1", dataDir: path.join(tmp, "data"), quiet: true });
  await started.platform.serving.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" }), { revision: "r1", models: { iris: resolveModelDir("iris", "1", out, "file://" + out) } });
  const client = poster(Number(new URL(started.url).port)).post;
  // The HTTP floor (same process, same node-server and hono, same body read and encoding; no middleware, no model).
  // The platform's middleware chain is part of what /v2 and /infer are measured for.
  const echoServer = serve({ fetch: echoApp().fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((r) => echoServer.once("listening", r));
  const echoClient = poster(port(echoServer)).post;

  const record = JSON.stringify({ sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 });
  const v2 = JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.7, 3.0, 5.2, 2.3] }] });
  const echo: Case = { name: "hono JSON echo", post: echoClient, path: "/echo", body: v2, check: (b) => b.length > 0 };
  const direct: Case = { name: "/v2 direct call", post: client, path: "/v2/models/iris/infer", body: v2, check: (b: string) => JSON.parse(b).outputs[1].data[0] === 2 };
  const infer: Case = { name: "/infer plain record", post: client, path: "/infer/iris", body: record, check: (b: string) => JSON.parse(b).prediction.label === "virginica" };
  // Warm up every path (JIT, model-info cache, sockets).
  for (let i = 0; i < WARMUP; i++) for (const c of [echo, direct, infer]) await call(c);

  // (1) Sequential latency, /v2 and /infer interleaved request by request so machine load hits both alike.
  const latency: { v2p50: number; v2p99: number; inferP50: number; inferP99: number }[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < N; i++) {
      a.push(await call(direct));
      b.push(await call(infer));
    }
    a.sort((x, y) => x - y);
    b.sort((x, y) => x - y);
    latency.push({ v2p50: pct(a, 0.5), v2p99: pct(a, 0.99), inferP50: pct(b, 0.5), inferP99: pct(b, 0.99) });
  }
  // (2) Throughput at each concurrency: echo, /v2, /infer back to back, the triple repeated.
  const conc: { c: number; echo: number[]; v2: number[]; infer: number[]; echoP99: number[]; v2P99: number[]; inferP99: number[]; echoCpu: number[]; v2Cpu: number[]; inferCpu: number[] }[] = [];
  for (const c of CONCURRENCY) {
    const row = { c, echo: [] as number[], v2: [] as number[], infer: [] as number[], echoP99: [] as number[], v2P99: [] as number[], inferP99: [] as number[], echoCpu: [] as number[], v2Cpu: [] as number[], inferCpu: [] as number[] };
    for (let r = 0; r < REPEATS; r++) {
      const e = await load(echo, c);
      const v = await load(direct, c);
      const f = await load(infer, c);
      row.echo.push(e.rps);
      row.v2.push(v.rps);
      row.infer.push(f.rps);
      row.echoP99.push(e.p99);
      row.v2P99.push(v.p99);
      row.inferP99.push(f.p99);
      row.echoCpu.push(e.cpuUs);
      row.v2Cpu.push(v.cpuUs);
      row.inferCpu.push(f.cpuUs);
    }
    conc.push(row);
  }
  const loadavg = os.loadavg().map((x) => +x.toFixed(2));
  await new Promise((r) => echoServer.close(r));
  await started.stop();
  fs.rmSync(tmp, { recursive: true, force: true });

  const p50Ratio = median(latency.map((l) => l.inferP50 / l.v2p50));
  const p99Ratio = median(latency.map((l) => l.inferP99 / l.v2p99));
  console.log(`load average ${loadavg.join(" ")}; ${REPEATS} repeats, medians`);
  console.log(`sequential: /v2 p50 ${median(latency.map((l) => l.v2p50)).toFixed(2)} ms, /infer p50 ${median(latency.map((l) => l.inferP50)).toFixed(2)} ms -> p50 ratio ${p50Ratio.toFixed(2)}x, p99 ratio ${p99Ratio.toFixed(2)}x`);
  console.log("clients".padStart(7), "echo rps".padStart(9), "v2 rps".padStart(8), "infer rps".padStart(10), "v2/echo".padStart(8), "infer/echo".padStart(11), "infer/v2".padStart(9), "p99 echo/v2/infer ms".padStart(22), "cpu us echo/v2/inf".padStart(16), "cpu x v2/e inf/e inf/v2".padStart(18));
  const rows = conc.map((r) => {
    const m = {
      concurrency: r.c,
      echoRps: Math.round(median(r.echo)),
      v2Rps: Math.round(median(r.v2)),
      inferRps: Math.round(median(r.infer)),
      v2VsEcho: +median(r.v2.map((v, i) => v / (r.echo[i] ?? 1))).toFixed(3),
      inferVsEcho: +median(r.infer.map((v, i) => v / (r.echo[i] ?? 1))).toFixed(3),
      inferVsV2: +median(r.infer.map((v, i) => v / (r.v2[i] ?? 1))).toFixed(3),
      p99: { echo: +median(r.echoP99).toFixed(2), v2: +median(r.v2P99).toFixed(2), infer: +median(r.inferP99).toFixed(2) },
      // CPU per request, steadier than req/s on a loaded machine; the ratios read like the throughput ones (1 = as cheap).
      cpuUs: { echo: Math.round(median(r.echoCpu)), v2: Math.round(median(r.v2Cpu)), infer: Math.round(median(r.inferCpu)) },
      cpu: {
        v2VsEcho: +median(r.v2Cpu.map((v, i) => (r.echoCpu[i] ?? 0) / v)).toFixed(3),
        inferVsEcho: +median(r.inferCpu.map((v, i) => (r.echoCpu[i] ?? 0) / v)).toFixed(3),
        inferVsV2: +median(r.inferCpu.map((v, i) => (r.v2Cpu[i] ?? 0) / v)).toFixed(3),
      },
    };
    console.log(String(m.concurrency).padStart(7), String(m.echoRps).padStart(9), String(m.v2Rps).padStart(8), String(m.inferRps).padStart(10), m.v2VsEcho.toFixed(2).padStart(8), m.inferVsEcho.toFixed(2).padStart(11), m.inferVsV2.toFixed(2).padStart(9), `${m.p99.echo}/${m.p99.v2}/${m.p99.infer}`.padStart(22), `${m.cpuUs.echo}/${m.cpuUs.v2}/${m.cpuUs.infer}`.padStart(16), `${m.cpu.v2VsEcho}/${m.cpu.inferVsEcho}/${m.cpu.inferVsV2}`.padStart(18));
    return m;
  });
  console.log(JSON.stringify({ bench: "infer", requests: N, seconds: SECONDS, repeats: REPEATS, cpus: os.cpus().length, loadavg, latency: { p50Ratio: +p50Ratio.toFixed(3), p99Ratio: +p99Ratio.toFixed(3), runs: latency }, concurrency: rows }));
}

void main();
