// bench/serving's slow-model case: a model whose runs take milliseconds (slowModel 384×384, 4 products), 8 clients
// inferring over HTTP while one more asks /v2/health/ready every 20 ms, with the model on the event loop and in
// BENCH_ONNX_WORKERS worker threads, interleaved. Reports req/s, CPU per request and the health checks' p50/p99.
import { performance } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { v2Routes } from "../../platform/serving/local/routes.ts";
import { EmbeddedV2Server } from "../../platform/serving/local/server.ts";
import { slowModel } from "../../test/unit/serving/onnx-fixtures.ts";
import { poster } from "./http.ts";

export interface SlowRow {
  readonly mode: string;
  readonly rps: number;
  readonly cpuUs: number;
  readonly healthP50: number;
  readonly healthP99: number;
}

const CLIENTS = 8;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const at = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

export async function slowModelRows(workers: number, seconds: number, repeats: number): Promise<SlowRow[]> {
  const body = JSON.stringify({ inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: [0] }] });
  const model = slowModel(384, 4);
  const setups = [];
  for (const w of [0, workers]) {
    const server = new EmbeddedV2Server({ registry: new Registry(), onnxWorkers: w });
    await server.loadModel({ name: "slow", version: "1", model });
    const http = serve({ fetch: new Hono().route("/v2", v2Routes(server)).fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((r) => http.once("listening", r));
    const addr = http.address();
    setups.push({ label: w ? `${w} worker(s)` : "inline", server, http, client: poster(typeof addr === "object" && addr ? addr.port : 0) });
  }
  const runs = setups.map(() => ({ rps: [] as number[], cpuUs: [] as number[], p50: [] as number[], p99: [] as number[] }));
  for (let r = 0; r < repeats; r++) {
    for (const [i, s] of setups.entries()) {
      let done = 0;
      const health: number[] = [];
      const cpu = process.cpuUsage();
      const end = performance.now() + seconds * 1000;
      const load = Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < end) {
          const res = await s.client.post("/v2/models/slow/infer", body);
          if (res.status !== 200) throw new Error(`status ${res.status}`);
          done++;
        }
      });
      const probe = (async () => {
        while (performance.now() < end) {
          const t = performance.now();
          await s.client.post("/v2/health/ready", "");
          health.push(performance.now() - t);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await Promise.all([...load, probe]);
      const used = process.cpuUsage(cpu);
      health.sort((a, b) => a - b);
      runs[i]?.rps.push(done / seconds);
      runs[i]?.cpuUs.push((used.user + used.system) / Math.max(1, done));
      runs[i]?.p50.push(at(health, 0.5));
      runs[i]?.p99.push(at(health, 0.99));
    }
  }
  for (const s of setups) {
    s.client.close();
    await new Promise((resolve) => s.http.close(resolve));
    await s.server.close();
  }
  return setups.map((s, i) => ({
    mode: `slow model (~ms runs), ${s.label}, c=${CLIENTS}`,
    rps: median(runs[i]?.rps ?? []),
    cpuUs: median(runs[i]?.cpuUs ?? []),
    healthP50: median(runs[i]?.p50 ?? []),
    healthP99: median(runs[i]?.p99 ?? []),
  }));
}
