// The Knative form of infer: one endpoint that takes both plain HTTP bodies and inference.requested CloudEvents.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, DEFAULT_PARAMS } from "../../../examples/iris-node/train.ts";
import { httpV2Client, knativeInferApp, ModelInfoCache } from "../../../functions/infer/index.ts";
import { buildEvent, parseEvent, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { LocalServingBackend } from "../../../platform/serving/local/backend.ts";
import { v2Routes } from "../../../platform/serving/local/routes.ts";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";
import { resolveModelDir } from "../../../platform/serving/mlmodel.ts";
import { DeploymentSpecSchema } from "../../../platform/specs/deployment.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "infer-kn-"));

describe("knativeInferApp", () => {
  const server = new EmbeddedV2Server({ registry: new Registry() });
  const backend = new LocalServingBackend({ server, baseUrl: "http://serving.local" });
  const v2 = new Hono().route("/v2", v2Routes(server));
  const emitted: AnyCloudEvent[] = [];
  const app = knativeInferApp({
    backend,
    client: httpV2Client((url, init) => v2.request(url, init)),
    log: createLogger("silent"),
    bus: { emit: async (e) => void emitted.push(e) },
    now: Date.now,
    cache: new ModelInfoCache(),
  });

  beforeAll(async () => {
    const out = run({ ...DEFAULT_PARAMS, epochs: 40 }, path.join(tmp, "t")).outDir;
    await backend.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" }), { revision: "r", models: { iris: resolveModelDir("iris", "1", out, "file://" + out) } });
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("answers a plain record on /<deployment>", async () => {
    const res = await app.request("/iris", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }) });
    expect(res.status).toBe(200);
    expect((await res.json()).prediction.label).toBe("setosa");
  });

  it("handles a binary-mode inference.requested event and emits inference.completed", async () => {
    const ce = buildEvent("inference.requested", { deployment: "iris", input: "sepal length 6.7, sepal width 3.0, petal length 5.2, petal width 2.3" }, { source: "/test", id: "kn-1" });
    const { headers, body } = toHttpBinary(ce);
    const res = await app.request("/", { method: "POST", headers, body });
    expect(res.status).toBe(200);
    expect(parseEvent(emitted.at(-1) as AnyCloudEvent).data).toMatchObject({ deployment: "iris", predictions: [{ label: "virginica" }] });
  });

  it("answers a bad event with 400 (not retried) and an unknown deployment with 404", async () => {
    const ce = buildEvent("inference.requested", { deployment: "nope", input: { a: 1 } }, { source: "/test", id: "kn-2" });
    const { headers, body } = toHttpBinary(ce);
    expect((await app.request("/", { method: "POST", headers, body })).status).toBe(404);
    expect((await app.request("/", { method: "POST", headers: { "ce-specversion": "1.0", "content-type": "application/json" }, body: "{}" })).status).toBe(400);
  });
});
