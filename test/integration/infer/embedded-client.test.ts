// infer's direct client to the embedded V2 server answers exactly as the same server reached through its V2 routes:
// responses, route headers, error classes, statuses and messages, the serving metrics; other targets go through.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, DEFAULT_PARAMS } from "../../../examples/iris-node/train.ts";
import { answeringCandidate, embeddedV2Client, httpV2Client, type V2Client } from "../../../functions/infer/index.ts";
import { toHttpError, UpstreamError, ValidationError } from "../../../platform/errors.ts";
import type { InferenceTarget } from "../../../platform/ports.ts";
import { v2Routes } from "../../../platform/serving/local/routes.ts";
import { EmbeddedV2Server, markRoute, ROUTE_HEADER, type Composite } from "../../../platform/serving/local/server.ts";
import type { InferRequest, InferResponse } from "../../../platform/serving/v2/types.ts";

const BASE = "http://flywheel.local";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "infer-direct-"));
const registry = new Registry();
const server = new EmbeddedV2Server({ registry });
const app = new Hono().route("/v2", v2Routes(server));
const overHttp = httpV2Client((url, init) => app.request(url, init));
const fallbackCalls: string[] = [];
const fallback: V2Client = {
  metadata: (t) => (fallbackCalls.push(`metadata ${t.url}`), overHttp.metadata(t)),
  infer: (t, req, seen) => (fallbackCalls.push(`infer ${t.url}${t.inferPath ?? ""}`), overHttp.infer(t, req, seen)),
};
const direct = embeddedV2Client({ server, baseUrl: `${BASE}/`, fallback });

/** A composite with a fixed behaviour, standing in for pipelines and experiments (which the route treats alike). */
const composite = (infer: Composite["infer"]): Composite => ({ kind: "experiment", metadata: () => ({ name: "c", versions: [], platform: "composite", inputs: [], outputs: [] }), ready: () => true, infer });
const answer = (outputs: InferResponse["outputs"]): InferResponse => ({ model_name: "c", model_version: "1", id: "fixed", outputs });

beforeAll(async () => {
  const model = path.join(run({ ...DEFAULT_PARAMS, epochs: 30 }, tmp).outDir, "model", "model.onnx");
  await server.loadModel({ name: "iris", version: "1", model });
  await server.loadModel({ name: "iris", version: "2", model });
  // Values JSON cannot carry as they are: the route's answer has null for NaN and ±Infinity, 0 for -0.
  server.setComposite("odd", composite(async () => ({ response: answer([{ name: "y", datatype: "FP32", shape: [4], data: [Number.NaN, -0, Number.POSITIVE_INFINITY, 1.5] }]), headers: {} })));
  server.setComposite("boom", composite(async () => Promise.reject(new Error("secret internal detail"))));
  server.setComposite("routed-fail", composite(async () => {
    const e = new ValidationError([{ field: "inputs", message: "candidate b refused it" }]);
    markRoute(e, "b");
    throw e;
  }));
  server.setComposite("down", composite(async () => Promise.reject(new UpstreamError("candidate unavailable", true))));
  // Echoes the request headers it was given (sticky routing reads them) and answers as candidate a.
  server.setComposite("sticky", composite(async (_req, headers) => ({ response: answer([{ name: "headers", datatype: "BYTES", shape: [1], data: [JSON.stringify(headers)] }]), headers: { [ROUTE_HEADER]: "a" } })));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const target = (model: string, extra: Partial<InferenceTarget> = {}): InferenceTarget => ({ url: BASE, model, headers: {}, ...extra });
const ROW: InferRequest = { id: "r-1", inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.7, 3.0, 5.2, 2.3] }] };

/** Everything infer can observe of one call: the answer or the error, and the headers it saw. */
async function outcome(client: V2Client, t: InferenceTarget, req: InferRequest): Promise<Record<string, unknown>> {
  const seen: { headers?: Record<string, string> } = {};
  try {
    const r = await client.infer(t, req, seen);
    return { response: r.response, route: answeringCandidate(r.headers) ?? null, seenRoute: answeringCandidate(seen.headers) ?? null };
  } catch (e) {
    return { error: e instanceof Error ? e.constructor.name : typeof e, message: e instanceof Error ? e.message : String(e), http: toHttpError(e), retryable: e instanceof UpstreamError ? e.retryable : null, seenRoute: answeringCandidate(seen.headers) ?? null };
  }
}

const requestsTotal = async (): Promise<number> => (await registry.getSingleMetric("flywheel_inference_requests_total")?.get())?.values.reduce((a, v) => a + v.value, 0) ?? 0;

describe("the direct client to the embedded V2 server", () => {
  it.each<[string, string, InferRequest, Partial<InferenceTarget>?]>([
    ["a plain request", "iris", ROW],
    ["parameters and an output filter", "iris", { ...ROW, parameters: { trace: { a: [1, "b"] } }, outputs: [{ name: "probabilities" }] }],
    ["nested data, FP64 to an FP32 input", "iris", { id: "r-2", inputs: [{ name: "input", shape: [2, 4], datatype: "FP64", data: [[6.7, 3.0, 5.2, 2.3], [5.1, 3.5, 1.4, 0.2]] }] }],
    ["a wrong shape (400)", "iris", { inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] }],
    ["strings for an FP32 input (400)", "iris", { inputs: [{ name: "input", shape: [1, 4], datatype: "BYTES", data: ["a", "b", "c", "d"] }] }],
    ["an unknown input and output (400)", "iris", { inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }], outputs: [{ name: "nope" }] }],
    ["an unknown model (404)", "nope", ROW],
    ["NaN, -0 and Infinity in an answer", "odd", ROW],
    ["an internal error (never leaked)", "boom", ROW],
    ["a candidate's refusal, naming the candidate", "routed-fail", ROW],
    ["an upstream failure", "down", ROW],
    ["the target's headers, as the route sees them", "sticky", ROW, { headers: { "X-Flywheel-Route": "a", Authorization: "Bearer t", "Content-Type": "application/json; charset=utf-8", "x-pad": "  v  " } }],
  ])("answers %s exactly as the V2 route does", async (_name, model, req, extra) => {
    const before = await requestsTotal();
    const viaHttp = await outcome(overHttp, target(model, extra), structuredClone(req));
    const afterHttp = await requestsTotal();
    const viaDirect = await outcome(direct, target(model, extra), structuredClone(req));
    expect(viaDirect).toEqual(viaHttp);
    // Serialised, too: what infer sends on (the V2 passthrough's `response`) is the same JSON.
    expect(JSON.stringify(viaDirect)).toBe(JSON.stringify(viaHttp));
    // One count in the serving metrics per call, either way.
    expect((await requestsTotal()) - afterHttp).toBe(afterHttp - before);
  });

  it("answers a request without an id with a fresh one, as the route does", async () => {
    const { id: _id, ...req } = ROW;
    const a = await direct.infer(target("iris"), req);
    const b = await direct.infer(target("iris"), req);
    expect(a.response.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.response.id).not.toBe(b.response.id);
    expect({ ...a.response, id: "" }).toEqual({ ...(await overHttp.infer(target("iris"), req)).response, id: "" });
    expect(a.response.model_version).toBe("2");
  });

  it("reads model metadata as GET /v2/models/{name} does, errors included", async () => {
    expect(await direct.metadata(target("iris"))).toEqual(await overHttp.metadata(target("iris")));
    const err = async (c: V2Client): Promise<unknown> => c.metadata(target("nope")).catch((e: unknown) => ({ name: e instanceof Error ? e.constructor.name : "", http: toHttpError(e) }));
    expect(await err(direct)).toEqual(await err(overHttp));
    expect(await err(direct)).toMatchObject({ name: "NotFoundError", http: { status: 404 } });
  });

  it("sends other servers' targets, and custom paths, to the fallback client", async () => {
    fallbackCalls.length = 0;
    await direct.infer(target("iris"), ROW);
    await direct.metadata(target("iris"));
    expect(fallbackCalls).toEqual([]);
    await direct.infer(target("iris", { url: "http://flywheel.local:8080" }), ROW).catch(() => undefined);
    await direct.infer(target("iris", { inferPath: "/v2/models/iris/versions/1/infer" }), ROW);
    await direct.metadata(target("iris", { metadataUrl: `${BASE}/v2/models/iris/versions/1` }));
    expect(fallbackCalls).toEqual(["infer http://flywheel.local:8080", "infer http://flywheel.local/v2/models/iris/versions/1/infer", `metadata ${BASE}`]);
  });
});
