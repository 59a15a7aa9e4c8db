// The embedded V2 server over hono's app.request(): protocol shapes, errors, versions, batching, hot-swap, metrics.
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { v2Routes } from "../../../platform/serving/local/routes.ts";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";
import { scaleModel } from "./onnx-fixtures.ts";

const json = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("embedded V2 server", () => {
  const registry = new Registry();
  const server = new EmbeddedV2Server({ registry });
  const app = new Hono().route("/v2", v2Routes(server));

  beforeAll(async () => {
    await server.loadModel({ name: "double", version: "1", model: scaleModel(2) });
    await server.loadModel({ name: "double", version: "2", model: scaleModel(3), parameters: { labels: ["a", "b"] } });
  });
  afterAll(() => server.close());

  it("answers health and server metadata", async () => {
    expect((await app.request("/v2/health/live")).status).toBe(200);
    expect((await app.request("/v2/health/ready")).status).toBe(200);
    const meta = await (await app.request("/v2")).json();
    expect(meta).toMatchObject({ name: "flywheel", version: expect.any(String), extensions: expect.any(Array) });
  });

  it("gives model metadata with -1 for variable dims, per version", async () => {
    const res = await app.request("/v2/models/double");
    expect(await res.json()).toEqual({
      name: "double",
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 2] }],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }],
      parameters: { labels: ["a", "b"] },
    });
    expect((await app.request("/v2/models/double/versions/1")).status).toBe(200);
    expect((await app.request("/v2/models/double/versions/1/ready")).status).toBe(200);
    expect((await app.request("/v2/models/double/ready")).status).toBe(200);
    expect((await app.request("/v2/models/double/versions/9/ready")).status).toBe(404);
  });

  it.each([
    ["nested data", [[1, 2], [3, 4]]],
    ["flat data", [1, 2, 3, 4]],
  ])("infers with %s and echoes the id; the latest version is the default", async (_, data) => {
    const res = await app.request("/v2/models/double/infer", json({ id: "req-1", inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data }] }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model_name: "double",
      model_version: "2",
      id: "req-1",
      outputs: [{ name: "y", datatype: "FP32", shape: [2, 2], data: [3, 6, 9, 12] }],
    });
  });

  it("routes to an explicit version and converts FP64/INT64 data to the model's FP32", async () => {
    for (const datatype of ["FP64", "INT64", "INT32"]) {
      const res = await app.request("/v2/models/double/versions/1/infer", json({ inputs: [{ name: "x", shape: [1, 2], datatype, data: [1, 2] }] }));
      const body = await res.json();
      expect(body.model_version).toBe("1");
      expect(body.outputs[0].data).toEqual([2, 4]);
      expect(typeof body.id).toBe("string");
    }
  });

  it("filters outputs", async () => {
    const res = await app.request("/v2/models/double/infer", json({ inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, 1] }], outputs: [{ name: "y" }] }));
    expect((await res.json()).outputs.map((o: { name: string }) => o.name)).toEqual(["y"]);
  });

  it.each([
    ["not JSON", "{", 400, /not valid JSON/],
    ["no inputs", { inputs: [] }, 400, /inputs/],
    ["unknown datatype", { inputs: [{ name: "x", shape: [1, 2], datatype: "FLOAT", data: [1, 2] }] }, 400, /datatype/],
    ["wrong element count", { inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data: [1, 2] }] }, 400, /needs 4 values/],
    ["wrong shape", { inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] }, 400, /has shape \[-1,2\]/],
    ["ragged nested data", { inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data: [[1, 2], [3]] }] }, 400, /ragged/],
    ["unknown input", { inputs: [{ name: "z", shape: [1, 2], datatype: "FP32", data: [1, 2] }] }, 400, /unknown input z/],
    ["non-numeric", { inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, "a"] }] }, 400, /inputs\[0\]\.data\[1\]: expected a number, got "a"/],
    ["BYTES to FP32", { inputs: [{ name: "x", shape: [1, 2], datatype: "BYTES", data: ["1", "2"] }] }, 400, /is FP32, got BYTES/],
    ["unknown output", { inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, 2] }], outputs: [{ name: "q" }] }, 400, /unknown output q/],
  ])("rejects %s with 400 {error}", async (_, body, status, msg) => {
    const res = await app.request("/v2/models/double/infer", { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    expect(res.status).toBe(status);
    const out = await res.json();
    expect(Object.keys(out)).toEqual(["error"]);
    expect(out.error).toMatch(msg);
  });

  it("answers 404 {error} for unknown models and versions", async () => {
    for (const path of ["/v2/models/nope", "/v2/models/double/versions/7"]) {
      const res = await app.request(path);
      expect(res.status).toBe(404);
      expect(Object.keys(await res.json())).toEqual(["error"]);
    }
    const res = await app.request("/v2/models/nope/infer", json({ inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, 2] }] }));
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/loaded: double/);
  });

  it("exposes per-model, per-version latency histograms and request counts", async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/flywheel_inference_request_duration_seconds_count\{model="double",version="2"\} \d+/);
    expect(text).toMatch(/flywheel_inference_requests_total\{model="double",version="2",code="200"\} \d+/);
    expect(text).toMatch(/flywheel_inference_requests_total\{model="double",version="2",code="400"\} \d+/);
    // The 404 above for "nope" is counted without the name a caller chose: no series per unknown name.
    expect(text).not.toMatch(/model="nope"/);
    expect(text).toMatch(/flywheel_inference_requests_total\{model="",version="",code="404"\} [1-9]/);
  });
});

describe("adaptive batching", () => {
  it("coalesces concurrent requests into one run and splits results back correctly", async () => {
    const registry = new Registry();
    const server = new EmbeddedV2Server({ registry, batching: { maxBatchSize: 8, maxBatchTimeMs: 20 } });
    await server.loadModel({ name: "triple", version: "1", model: scaleModel(3) });
    expect(server.models.get("triple")?.batching).toBe(true);
    const reqs = Array.from({ length: 20 }, (_, i) => {
      const rows = (i % 3) + 1;
      const data = Array.from({ length: rows * 2 }, (_, k) => i * 10 + k);
      return { rows, data };
    });
    const results = await Promise.all(
      reqs.map((r, i) => server.infer("triple", undefined, { id: `r${i}`, inputs: [{ name: "x", shape: [r.rows, 2], datatype: "FP32", data: r.data }] })),
    );
    results.forEach(({ response }, i) => {
      const r = reqs[i];
      expect(response.id).toBe(`r${i}`);
      expect(response.outputs[0]?.shape).toEqual([r?.rows, 2]);
      expect(response.outputs[0]?.data).toEqual(r?.data.map((v) => v * 3));
    });
    const text = await registry.metrics();
    const count = Number(/flywheel_inference_batch_size_count\{model="triple",version="1"\} (\d+)/.exec(text)?.[1]);
    const sum = Number(/flywheel_inference_batch_size_sum\{model="triple",version="1"\} (\d+)/.exec(text)?.[1]);
    expect(sum).toBe(20);
    expect(count).toBeLessThanOrEqual(4); // 20 requests in batches of at most 8
    await server.close();
  });

  it("does not batch a model whose first dimension is fixed", async () => {
    const server = new EmbeddedV2Server({ registry: new Registry(), batching: { maxBatchSize: 8, maxBatchTimeMs: 5 } });
    const { onnxModel } = await import("./onnx-fixtures.ts");
    const fixed = onnxModel({
      inputs: [{ name: "x", type: "float", dims: [1, 2] }],
      outputs: [{ name: "y", type: "float", dims: [1, 2] }],
      nodes: [{ op: "Identity", inputs: ["x"], outputs: ["y"] }],
    });
    await server.loadModel({ name: "fixed", version: "1", model: fixed });
    expect(server.models.get("fixed")?.batching).toBe(false);
    const { response } = await server.infer("fixed", undefined, { inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [5, 6] }] });
    expect(response.outputs[0]?.data).toEqual([5, 6]);
    await server.close();
  });
});

describe("hot-swap", () => {
  it("swaps the session of a version under load with zero failed requests", async () => {
    const server = new EmbeddedV2Server({ registry: new Registry(), batching: { maxBatchSize: 4, maxBatchTimeMs: 2 } });
    await server.loadModel({ name: "m", version: "1", model: scaleModel(2) });
    let stop = false;
    let ok = 0;
    const failures: unknown[] = [];
    const seen = new Set<number>();
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const { response } = await server.infer("m", "1", { inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1, 1] }] });
          seen.add(Number(response.outputs[0]?.data[0]));
          ok++;
        } catch (e) {
          failures.push(e);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let factor = 3; factor <= 8; factor++) {
      await new Promise((r) => setTimeout(r, 15));
      await server.loadModel({ name: "m", version: "1", model: scaleModel(factor) });
    }
    await new Promise((r) => setTimeout(r, 15));
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(seen.has(2)).toBe(true);
    expect(seen.has(8)).toBe(true);
    expect(server.models.versions("m")).toEqual(["1"]);
    await server.close();
  });
});
