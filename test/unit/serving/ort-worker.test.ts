// Models run in worker threads (FLYWHEEL_ONNX_WORKERS): the same answers and errors as on the event loop, the event
// loop free while a slow model runs, and a thread that dies fails its runs with a 503 and is replaced.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Worker } from "node:worker_threads";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { toHttpError } from "../../../platform/errors.ts";
import { v2Routes } from "../../../platform/serving/local/routes.ts";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";
import type { InferRequest } from "../../../platform/serving/v2/types.ts";
import { reshapeModel, scaleModel, slowModel, stringIdentityModel } from "./onnx-fixtures.ts";

const json = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ort-worker-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ROW: InferRequest = { inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, 2] }] };

/** The HTTP status and body of an in-process call's failure, as the V2 route would answer it. */
async function failure(p: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await p;
  } catch (e) {
    const { status, body } = toHttpError(e);
    return { status, error: body.error };
  }
  throw new Error("the call succeeded");
}

const exited = (w: Worker): Promise<number> => new Promise((resolve) => w.once("exit", resolve));

describe("model runs in worker threads", () => {
  it("answers, refuses and fails exactly as a model on the event loop: BYTES, runtime errors, batching", async () => {
    const answers = [];
    for (const workers of [0, 1]) {
      const server = new EmbeddedV2Server({ registry: new Registry(), onnxWorkers: workers, batching: { maxBatchSize: 4, maxBatchTimeMs: 50 } });
      await server.loadModel({ name: "double", version: "1", model: scaleModel(2) });
      await server.loadModel({ name: "words", version: "1", model: stringIdentityModel() });
      await server.loadModel({ name: "reshape", version: "1", model: reshapeModel() });
      const app = new Hono().route("/v2", v2Routes(server));
      const call = async (model: string, body: unknown): Promise<[number, unknown]> => {
        const res = await app.request(`/v2/models/${model}/infer`, json(body));
        return [res.status, await res.json()];
      };
      answers.push(
        await Promise.all([
          // Four rows in one batch, each split back to its request.
          ...[1, 2, 3, 4].map((k) => call("double", { id: `b${k}`, inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [k, -k] }] })),
          call("words", { id: "w", inputs: [{ name: "words", shape: [3], datatype: "BYTES", data: ["a", "ünï", ""] }] }),
          // Passes the V2 checks, refused by onnxruntime at run: a 500 that leaks nothing.
          call("reshape", { id: "r", inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, 2] }] }),
          call("reshape", { id: "r2", inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data: [1, 2, 3, 4] }] }),
          call("double", { inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] }),
        ]),
      );
      await server.close();
    }
    const [inline, threaded] = answers;
    expect(threaded).toEqual(inline);
    expect(threaded?.[0]).toEqual([200, { model_name: "double", model_version: "1", id: "b1", outputs: [{ name: "y", datatype: "FP32", shape: [1, 2], data: [2, -2] }] }]);
    expect(threaded?.[4]).toEqual([200, { model_name: "words", model_version: "1", id: "w", outputs: [{ name: "out", datatype: "BYTES", shape: [3], data: ["a", "ünï", ""] }] }]);
    expect(threaded?.[5]).toEqual([500, { error: "internal error" }]);
    expect(threaded?.[6]?.[0]).toBe(200);
    expect(threaded?.[7]?.[0]).toBe(400);
  });

  it("keeps the event loop free while a slow model runs: health checks answer during the run", async () => {
    const threads: Worker[] = [];
    const server = new EmbeddedV2Server({ registry: new Registry(), onnxWorkers: 1 });
    await server.loadModel({ name: "slow", version: "1", model: slowModel(256, 300), onWorker: (w) => threads.push(w) });
    const http = serve({ fetch: new Hono().route("/v2", v2Routes(server)).fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((r) => http.once("listening", r));
    const addr = http.address();
    const base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/v2`;
    try {
      let answered = false;
      const inference = fetch(`${base}/models/slow/infer`, json({ inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: [0] }] })).then(async (res) => {
        answered = true;
        return [res.status, await res.json()];
      });
      // On the event loop, the run blocks every other request until it ends: the one sent before it began answers, and at
      // most one more, read with the inference's own answer (1 in a trial). In a worker thread: 18 in a trial, with 200 products.
      let healthy = 0;
      while (!answered) {
        const res = await fetch(`${base}/health/ready`);
        if (res.status === 200 && !answered) healthy++;
        await res.arrayBuffer();
      }
      expect(await inference).toEqual([200, expect.objectContaining({ outputs: [{ name: "y", datatype: "FP32", shape: [1, 1], data: [0] }] })]);
      expect(healthy, "health checks answered while the model ran").toBeGreaterThanOrEqual(4);
      expect(threads.map((w) => w.threadId).every((id) => id > 0)).toBe(true);
    } finally {
      await new Promise((r) => http.close(r));
      await server.close();
    }
  });

  it("fails the runs of a thread that dies with a 503, replaces it, and ends its threads on unload", async () => {
    const threads: Worker[] = [];
    const server = new EmbeddedV2Server({ registry: new Registry(), onnxWorkers: 1 });
    await server.loadModel({ name: "double", version: "1", model: scaleModel(2), onWorker: (w) => threads.push(w) });
    expect((await server.infer("double", undefined, ROW)).response.outputs[0]?.data).toEqual([2, 4]);
    const [first] = threads;
    if (!first) throw new Error("no worker thread started");
    const gone = exited(first);
    // Ended while the run waits for it (the run is posted on the next turn, to a thread already ending).
    const inFlight = server.infer("double", undefined, ROW);
    void first.terminate();
    expect(await failure(inFlight)).toEqual({ status: 503, error: expect.stringMatching(/^model double version 1: its onnxruntime worker thread exited \(code 1\)/) });
    await gone;
    // The next run starts a new thread with its own session.
    expect((await server.infer("double", undefined, ROW)).response.outputs[0]?.data).toEqual([2, 4]);
    expect(threads).toHaveLength(2);
    const second = threads[1];
    if (!second) throw new Error("no replacement thread");
    const ended = exited(second);
    await server.models.unload("double");
    expect(await ended).toBe(0);
  });

  it("refuses a model onnxruntime cannot load with the runtime's own message, and ends the thread", async () => {
    const messages = [];
    const exits: Promise<number>[] = [];
    for (const workers of [0, 1]) {
      const server = new EmbeddedV2Server({ registry: new Registry(), onnxWorkers: workers });
      messages.push(await server.loadModel({ name: "junk", version: "1", model: new Uint8Array([1, 2, 3]), onWorker: (w) => exits.push(exited(w)) }).then(() => "loaded", (e: unknown) => (e instanceof Error ? e.message : String(e))));
      expect(server.names()).toEqual([]);
      await server.close();
    }
    expect(messages[1]).toBe(messages[0]);
    expect(messages[0]).not.toBe("loaded");
    expect(exits).toHaveLength(1);
    await Promise.all(exits);
  });

  it("answers 503 on every run, never hangs, when a dead thread cannot be replaced", async () => {
    const file = path.join(tmp, "gone.onnx");
    fs.writeFileSync(file, scaleModel(2));
    const threads: Worker[] = [];
    const server = new EmbeddedV2Server({ registry: new Registry(), onnxWorkers: 1 });
    await server.loadModel({ name: "gone", version: "1", model: file, onWorker: (w) => threads.push(w) });
    fs.rmSync(file);
    const [first] = threads;
    await first?.terminate();
    for (let i = 0; i < 2; i++) {
      expect(await failure(server.infer("gone", undefined, ROW))).toEqual({ status: 503, error: expect.stringMatching(/^model gone version 1: could not restart its onnxruntime worker thread: .*gone\.onnx/) });
    }
    await server.close();
  });
});
