// Server side of V2 over HTTP (no batching) or of the hono echo, for a CPU profile with the load in another process:
//   node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/serving/profile.ts v2|echo|echo-busy [µs]   (prints its port;
//   SIGINT ends it and prints the server's CPU and context switches per request)
//   node --import tsx bench/serving/profile.ts load PORT PATH [seconds] [record]        (32 clients; a V2 body, or
//   an Iris record for /infer)
// echo-busy is the control for reading a profile: the echo plus a setImmediate hop (as onnxruntime-node's run takes)
// and µs (default 150) of busy CPU, with the echo's exact write path. With the load in another process, a profile's
// writev self-time is wall time: it includes the run-queue wait after the writev wakes the client and the client
// preempts the server, so it grows with the server's CPU per request (echo-busy's writev grows like V2's) and is not
// the cost of the write. Both answers go out in one writev (c.json's cached Response, Content-Length, no chunking).
// Not a bench: run.ts measures.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { run, DEFAULT_PARAMS } from "../../examples/iris-node/train.ts";
import { v2Routes } from "../../platform/serving/local/routes.ts";
import { EmbeddedV2Server } from "../../platform/serving/local/server.ts";
import { echoApp, poster } from "./http.ts";

const [mode, portArg, pathArg, secondsArg, shape] = process.argv.slice(2);
const body =
  shape === "record"
    ? JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 })
    : JSON.stringify({ inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] });

if (mode === "load") {
  const client = poster(Number(portArg));
  let done = 0;
  const end = performance.now() + Number(secondsArg ?? 8) * 1000;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < end) {
        const res = await client.post(pathArg ?? "/", body);
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        done++;
      }
    }),
  );
  console.log(`${(done / Number(secondsArg ?? 8)).toFixed(0)} req/s`);
  client.close();
} else {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "profile-serving-"));
  const app = new Hono();
  const server = new EmbeddedV2Server({ registry: new Registry() });
  let served = 0;
  app.use(async (_c, next) => {
    served++;
    await next();
  });
  if (mode === "echo") app.route("/", echoApp());
  else if (mode === "echo-busy") app.route("/", echoApp(Number(portArg ?? 150)));
  else {
    await server.loadModel({ name: "iris", version: "1", model: path.join(run({ ...DEFAULT_PARAMS, epochs: 50 }, tmp).outDir, "model", "model.onnx") });
    app.route("/v2", v2Routes(server));
  }
  const http = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((r) => http.once("listening", r));
  const addr = http.address();
  console.log(typeof addr === "object" && addr ? addr.port : 0);
  const start = process.resourceUsage();
  process.once("SIGINT", () => {
    const end = process.resourceUsage();
    const per = (a: number, b: number): string => ((b - a) / Math.max(1, served)).toFixed(3);
    // Whole process, start-up excluded: user and system CPU µs, involuntary (preempted) and voluntary switches.
    console.log(`${served} requests; per request: user ${per(start.userCPUTime, end.userCPUTime)} µs, system ${per(start.systemCPUTime, end.systemCPUTime)} µs, involuntary switches ${per(start.involuntaryContextSwitches, end.involuntaryContextSwitches)}, voluntary ${per(start.voluntaryContextSwitches, end.voluntaryContextSwitches)}`);
    http.close();
    void server.close().then(() => fs.rmSync(tmp, { recursive: true, force: true }));
  });
}
