// infer end to end (plain record -> decoded label) vs a direct V2 call to the same embedded server, both over HTTP
// on one port as the platform serves them; p50/p99 of sequential requests. Measures; never asserts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { run, DEFAULT_PARAMS } from "../../examples/iris-node/train.ts";
import { httpV2Client, inferRoutes } from "../../functions/infer/index.ts";
import { createLogger } from "../../platform/log.ts";
import { LocalServingBackend } from "../../platform/serving/local/backend.ts";
import { v2Routes } from "../../platform/serving/local/routes.ts";
import { EmbeddedV2Server } from "../../platform/serving/local/server.ts";
import { resolveModelDir } from "../../platform/serving/mlmodel.ts";
import { DeploymentSpecSchema } from "../../platform/specs/deployment.ts";
import { poster } from "../serving/http.ts";

const N = Number(process.env.BENCH_REQUESTS ?? 1500);
const WARMUP = 200;

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-infer-"));
  const out = run({ ...DEFAULT_PARAMS, epochs: 50 }, tmp).outDir;
  const server = new EmbeddedV2Server({ registry: new Registry() });
  const backend = new LocalServingBackend({ server, baseUrl: "http://flywheel.local" });
  await backend.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" }), { revision: "r1", models: { iris: resolveModelDir("iris", "1", out, "file://" + out) } });
  const platform = new Hono();
  platform.route("/v2", v2Routes(server));
  // As in embedded mode: infer reaches the V2 server in-process through the app, not through a socket.
  platform.route("/infer", inferRoutes({ backend, client: httpV2Client((url, init) => platform.request(url, init)), log: createLogger("silent") }));
  const http = serve({ fetch: platform.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((r) => http.once("listening", r));
  const addr = http.address();
  const client = poster(typeof addr === "object" && addr ? addr.port : 0);

  const record = JSON.stringify({ sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 });
  const v2 = JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.7, 3.0, 5.2, 2.3] }] });
  const cases = [
    { name: "direct V2 call", path: "/v2/models/iris/infer", body: v2, check: (b: string) => JSON.parse(b).outputs[1].data[0] === 2 },
    { name: "infer plain record", path: "/infer/iris", body: record, check: (b: string) => JSON.parse(b).prediction.label === "virginica" },
  ];
  const results: { name: string; p50: number; p99: number; mean: number }[] = [];
  // Interleave the two so machine load hits both alike.
  const lat: number[][] = cases.map(() => []);
  for (let i = 0; i < N + WARMUP; i++) {
    for (const [k, c] of cases.entries()) {
      const t = performance.now();
      const res = await client.post(c.path, c.body);
      const ms = performance.now() - t;
      if (res.status !== 200 || !c.check(res.body)) throw new Error(`${c.name}: unexpected answer ${res.status} ${res.body.slice(0, 200)}`);
      if (i >= WARMUP) lat[k]?.push(ms);
    }
  }
  cases.forEach((c, k) => {
    const sorted = [...(lat[k] ?? [])].sort((a, b) => a - b);
    results.push({ name: c.name, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length });
  });
  client.close();
  await new Promise((r) => http.close(r));
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });

  const floor = results[0];
  console.log("case".padEnd(22), "p50 ms".padStart(8), "p99 ms".padStart(8), "mean ms".padStart(8), "p50 x".padStart(7), "p99 x".padStart(7));
  for (const r of results) {
    console.log(r.name.padEnd(22), r.p50.toFixed(2).padStart(8), r.p99.toFixed(2).padStart(8), r.mean.toFixed(2).padStart(8), (r.p50 / (floor?.p50 ?? 1)).toFixed(2).padStart(7), (r.p99 / (floor?.p99 ?? 1)).toFixed(2).padStart(7));
  }
  console.log(JSON.stringify({ bench: "infer", requests: N, cpus: os.cpus().length, results: results.map((r) => ({ ...r, p50: +r.p50.toFixed(3), p99: +r.p99.toFixed(3), mean: +r.mean.toFixed(3) })), ratio: { p50: +((results[1]?.p50 ?? 0) / (floor?.p50 ?? 1)).toFixed(3), p99: +((results[1]?.p99 ?? 0) / (floor?.p99 ?? 1)).toFixed(3) } }));
}

void main();
