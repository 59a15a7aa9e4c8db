// Bench HTTP helpers: a keep-alive node:http POST client (undici's fetch adds tens of ms per call on this machine
// kind) and the echo app that is the HTTP floor.
import http from "node:http";
import { Hono } from "hono";
import { MAX_INFER_BYTES } from "../../platform/serving/local/routes.ts";
import type { SessionRunner } from "../../platform/serving/local/session-runner.ts";
import { readLimited } from "../../platform/serving/v2/body.ts";

export function poster(port: number, maxSockets = 64): { post: (path: string, body: string, contentType?: string) => Promise<{ status: number; body: string }>; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const post = (path: string, body: string, contentType = "application/json"): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, method: "POST", agent, headers: { "content-type": contentType, "content-length": Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on("error", reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/**
 * The HTTP floor: the same server stack as the V2 route (node-server, hono, the same body read, JSON.parse and c.json)
 * minus the model work (validation, tensors, onnxruntime, the answer's id and metrics): it echoes the parsed body.
 * busyUs > 0 is profile.ts's control: a setImmediate hop (as onnxruntime-node's run takes) and that much busy CPU.
 */
export function echoApp(busyUs = 0): Hono {
  const app = new Hono();
  app.post("/echo", async (c) => {
    const body = JSON.parse(await readLimited(c, MAX_INFER_BYTES)) as unknown;
    if (busyUs > 0) {
      await new Promise((r) => setImmediate(r));
      const end = performance.now() + busyUs / 1000;
      while (performance.now() < end);
    }
    return c.json(body);
  });
  return app;
}

/**
 * A control, not a floor: the echo plus the bare model run on the body's first input (its tensor built directly, one
 * run, the answer not encoded). Its ratio to the echo is the ceiling any V2 server reaches unbatched on this model,
 * with the session on the event loop (inlineRunner) or in a worker thread (OrtWorkerPool).
 */
export function modelEchoApp(runner: SessionRunner): Hono {
  const app = new Hono();
  const outputs = runner.outputMetadata.map((m) => m.name);
  app.post("/echo", async (c) => {
    const body = JSON.parse(await readLimited(c, MAX_INFER_BYTES)) as { inputs: { name: string; shape: number[]; data: number[] }[] };
    const input = body.inputs[0];
    if (input) await runner.run({ [input.name]: { type: "float32", data: Float32Array.from(input.data), dims: input.shape } }, outputs);
    return c.json(body);
  });
  return app;
}
