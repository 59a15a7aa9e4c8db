// infer end to end on the embedded server with the real Iris model: every input form, routing, drift, LLM fallback,
// errors (400 listing inputs, 404 listing deployments, 413, 415), the CloudEvent form, and the deployments API.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { Registry } from "prom-client";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, DEFAULT_PARAMS } from "../../../examples/iris-node/train.ts";
import { deploymentsApi, embeddedV2Client, httpV2Client, inferHandler, inferRoutes, type InferDeps } from "../../../functions/infer/index.ts";
import { buildEvent, parseEvent, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import type { DriftObservation } from "../../../platform/ports.ts";
import { LocalServingBackend } from "../../../platform/serving/local/backend.ts";
import { v2Routes } from "../../../platform/serving/local/routes.ts";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";
import { resolveModelDir } from "../../../platform/serving/mlmodel.ts";
import { DeploymentSpecSchema } from "../../../platform/specs/deployment.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "infer-"));
const FLOWER = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const VIRGINICA = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 };

// One trained model for every suite below.
let trained: string | undefined;
const trainedModel = (): string => (trained ??= run(DEFAULT_PARAMS, path.join(tmp, "train")).outDir);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The same behaviour whichever way infer reaches the embedded server: through the app's V2 routes (as a remote
// server is reached) or directly (what embedded mode does).
describe.each(["through the V2 routes", "directly"] as const)("infer, calling the embedded server %s", (how) => {
  const server = new EmbeddedV2Server({ registry: new Registry() });
  const backend = new LocalServingBackend({ server, baseUrl: "http://flywheel.local" });
  const platform = new Hono();
  platform.route("/v2", v2Routes(server));
  const overHttp = httpV2Client((url, init) => platform.request(url, init));
  const client = how === "directly" ? embeddedV2Client({ server, baseUrl: "http://flywheel.local", fallback: overHttp }) : overHttp;
  const observed: DriftObservation[] = [];
  const emitted: AnyCloudEvent[] = [];
  let llmRequests: unknown[] = [];
  let llm: http.Server;
  let llmUrl = "";
  const deps = (extra: Partial<InferDeps> = {}): InferDeps => ({
    backend,
    client,
    drift: { observe: (o) => void observed.push(o) },
    log: createLogger("silent"),
    ...extra,
  });
  const app = new Hono().route("/infer", inferRoutes(deps()));
  const post = (body: string | object, ct = "application/json", name = "iris"): Promise<Response> =>
    Promise.resolve(app.request(`/infer/${name}`, { method: "POST", headers: { "content-type": ct }, body: typeof body === "string" ? body : JSON.stringify(body) }));

  beforeAll(async () => {
    const out = trainedModel();
    const resolved = resolveModelDir("iris", "1", out, "file://" + out);
    await backend.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" }), { revision: "r1", models: { iris: resolved } });
    await backend.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris-b", model: "iris", version: "1" }), { revision: "r1", models: { "iris-b": { ...resolved } } });
    await backend.apply(DeploymentSpecSchema.parse({ kind: "experiment", name: "iris-ab", candidates: [{ name: "iris", weight: 50 }, { name: "iris-b", weight: 50 }] }), { revision: "r2", models: {} });
    // A local fake of an OpenAI-compatible chat endpoint that checks the structured-output schema it is sent.
    llm = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const parsed = JSON.parse(body);
        llmRequests.push({ url: req.url, auth: req.headers.authorization, body: parsed });
        const schema = parsed.response_format?.json_schema?.schema;
        const ok = req.url === "/v1/chat/completions" && parsed.response_format?.type === "json_schema" && parsed.response_format.json_schema.strict === true && schema?.additionalProperties === false && JSON.stringify(schema.required) === JSON.stringify(Object.keys(FLOWER));
        if (!ok) {
          res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "bad schema" } }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ message: { role: "assistant", content: JSON.stringify(VIRGINICA) } }] }));
      });
    });
    await new Promise<void>((r) => llm.listen(0, "127.0.0.1", r));
    llmUrl = `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await server.close();
    await new Promise((r) => llm.close(r));
  });

  it("answers a plain record with a decoded label and probabilities", async () => {
    const res = await post(FLOWER);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ deployment: "iris", model: "iris", version: "1", parsedAs: "record", prediction: { label: "setosa" } });
    expect(Object.keys(body.prediction.probabilities)).toEqual(["setosa", "versicolor", "virginica"]);
    expect(body.predictions).toHaveLength(1);
  });

  it.each([
    ["a list of records", [FLOWER, VIRGINICA], "application/json", "records"],
    ["CSV with a header", "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", "text/csv", "csv"],
    ["CSV with other column order", "petal_width,petal_length,sepal_width,sepal_length\n0.2,1.4,3.5,5.1\n2.3,5.2,3.0,6.7\n", "text/csv", "csv"],
  ])("answers %s", async (_, body, ct, parsedAs) => {
    const out = await (await post(body, ct)).json();
    expect(out.parsedAs).toBe(parsedAs);
    expect(out.predictions.map((p: { label: string }) => p.label)).toEqual(["setosa", "virginica"]);
  });

  it("passes a raw V2 request through and decodes it, also returning the V2 response", async () => {
    const out = await (await post({ id: "v2-1", inputs: [{ name: "input", shape: [1, 4], datatype: "FP64", data: [[6.7, 3.0, 5.2, 2.3]] }] })).json();
    expect(out.parsedAs).toBe("v2");
    expect(out.response.id).toBe("v2-1");
    expect(out.predictions[0].label).toBe("virginica");
  });

  it.each([
    ['{"text": "predict iris: sepal length 5.1, sepal width 3.5, petal length 1.4, petal width 0.2"}', "application/json"],
    ["Predict iris: Sepal-Length 5.1; sepal_width=3.5, petal length is 1.4 and PETAL WIDTH 0.2", "text/plain"],
  ])("reads natural language without an LLM: %s", async (body, ct) => {
    const out = await (await post(body, ct)).json();
    expect(out).toMatchObject({ parsedAs: "text (parser)", prediction: { label: "setosa" } });
  });

  it("falls back to the LLM with a strict JSON schema when the parser cannot read the text", async () => {
    llmRequests = [];
    const withLlm = new Hono().route("/infer", inferRoutes(deps({ llm: { url: llmUrl, apiKey: "sk-test", model: "gpt-test" } })));
    const res = await withLlm.request("/infer/iris", { method: "POST", headers: { "content-type": "text/plain" }, body: "a big flower, long petals (five point two), sepal 6.7 by 3" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ parsedAs: "text (llm)", prediction: { label: "virginica" } });
    expect(llmRequests).toHaveLength(1);
    expect(llmRequests[0]).toMatchObject({ url: "/v1/chat/completions", auth: "Bearer sk-test", body: { model: "gpt-test" } });
  });

  it("without an LLM, says which features the text lacks (400)", async () => {
    const res = await post("sepal length 5.1 and colour 3", "text/plain");
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatch(/could not find sepal_width, petal_length, petal_width/);
    expect(body.error).toMatch(/colour is not an input/);
    expect(body.expected.map((e: { name: string }) => e.name)).toEqual(Object.keys(FLOWER));
  });

  it.each([
    ["a missing feature", { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4 }, /records\[0\].petal_width: is missing/],
    ["a non-numeric value", { ...FLOWER, sepal_length: "long" }, /expected a number, got "long"/],
    ["an unknown field", { ...FLOWER, colour: "blue" }, /records\[0\].colour: is not an input/],
    ["a V2 request with a wrong shape", { inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] }, /has shape \[-1,4\]/],
  ])("rejects %s with 400 listing the expected inputs", async (_, body, msg) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const out = await res.json();
    expect(out.error).toMatch(msg);
    if (!("inputs" in body)) expect(out.error).toMatch(/^expected inputs: sepal_length \(FP32\), sepal_width \(FP32\), petal_length \(FP32\), petal_width \(FP32\)/);
  });

  it("404s an unknown deployment listing the deployed ones, 413s a big body, 415s XML", async () => {
    const nf = await post(FLOWER, "application/json", "nope");
    expect(nf.status).toBe(404);
    expect((await nf.json()).error).toBe("deployment nope not found; deployed: iris, iris-ab, iris-b");
    const big = await post(JSON.stringify([...Array(40_000)].map(() => FLOWER)));
    expect(big.status).toBe(413);
    expect((await post("<a/>", "application/xml")).status).toBe(415);
    expect((await post("{oops")).status).toBe(400);
  });

  it("routes experiments through the embedded router and records which candidate answered", async () => {
    const routes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const out = await (await post(FLOWER, "application/json", "iris-ab")).json();
      expect(out.prediction.label).toBe("setosa");
      routes.add(out.route);
    }
    expect(routes).toEqual(new Set(["iris", "iris-b"]));
  });

  it("feeds the drift observer with features and labels, off the request path, and survives a throwing observer", async () => {
    observed.length = 0;
    await post([FLOWER, VIRGINICA]);
    await new Promise((r) => setImmediate(r));
    expect(observed.at(-1)).toEqual({ model: "iris", version: "1", features: { sepal_length: [5.1, 6.7], sepal_width: [3.5, 3], petal_length: [1.4, 5.2], petal_width: [0.2, 2.3] }, predictions: ["setosa", "virginica"] });
    const throwing = new Hono().route("/infer", inferRoutes(deps({ drift: { observe: () => { throw new Error("observer down"); } } })));
    // No content type on purpose: a JSON body sent as text/plain (fetch's default for strings) is still read as JSON.
    const res = await throwing.request("/infer/iris", { method: "POST", body: JSON.stringify(FLOWER) });
    expect(res.status).toBe(200);
    await new Promise((r) => setImmediate(r));
  });

  it("handles inference.requested and emits inference.completed with a derived id", async () => {
    const d = { ...deps(), bus: { emit: async (e: AnyCloudEvent) => void emitted.push(e) }, now: Date.now };
    const ce = buildEvent("inference.requested", { deployment: "iris", input: VIRGINICA }, { source: "/test", id: "req-42" });
    const out = await inferHandler(ce, d);
    expect(out.status).toBe("done");
    const ev = parseEvent(emitted.at(-1) as AnyCloudEvent);
    expect(ev).toMatchObject({ type: "dev.flywheel.inference.completed", data: { deployment: "iris", model: "iris", version: "1", predictions: [{ label: "virginica" }] } });
    await inferHandler(ce, d);
    expect(emitted.at(-1)?.id).toBe(emitted.at(-2)?.id);
  });
});

describe("deployments API", () => {
  const server = new EmbeddedV2Server({ registry: new Registry() });
  const backend = new LocalServingBackend({ server });
  const emitted: AnyCloudEvent[] = [];
  const api = new Hono().route(
    "/api/v1/deployments",
    deploymentsApi({ bus: { emit: async (e) => void emitted.push(e) }, log: createLogger("silent"), now: Date.now, backends: { local: backend }, defaultBackend: "local" }),
  );
  const multi = "kind: model\nname: iris-v2\nmodel: iris\nversion: \"2\"\n---\nkind: experiment\nname: iris-ab\ncandidates: [{name: iris, weight: 90}, {name: iris-v2, weight: 10}]\n";

  beforeAll(async () => {
    const out = run({ ...DEFAULT_PARAMS, epochs: 30 }, path.join(tmp, "api-train")).outDir;
    await backend.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" }), { revision: "r1", models: { iris: resolveModelDir("iris", "1", out, "s3://bucket/iris/1") } });
  });
  afterAll(() => server.close());

  it("lists and gets deployments with conditions; 404 for unknown", async () => {
    const list = await (await api.request("/api/v1/deployments")).json();
    expect(list.deployments.map((d: { name: string }) => d.name)).toEqual(["iris"]);
    const one = await (await api.request("/api/v1/deployments/iris")).json();
    expect(one).toMatchObject({ name: "iris", state: "ready", conditions: [{ type: "Ready", status: "True" }] });
    expect((await api.request("/api/v1/deployments/nope")).status).toBe(404);
  });

  it("accepts a multi-document YAML spec with 202, one deployment.requested per document", async () => {
    const res = await api.request("/api/v1/deployments", { method: "POST", headers: { "content-type": "application/yaml" }, body: multi });
    expect(res.status).toBe(202);
    expect((await res.json()).accepted.map((a: { name: string }) => a.name)).toEqual(["iris-v2", "iris-ab"]);
    const evs = emitted.slice(-2).map((e) => parseEvent(e));
    expect(evs.map((e) => e.data)).toMatchObject([{ action: "deploy", spec: { kind: "model", name: "iris-v2" } }, { action: "deploy", spec: { kind: "experiment", name: "iris-ab" } }]);
  });

  it("renders a dry run as YAML without emitting", async () => {
    const before = emitted.length;
    const res = await api.request("/api/v1/deployments?dryRun=1", { method: "POST", body: multi });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/yaml/);
    const docs = YAML.parseAllDocuments(await res.text()).map((d) => d.toJS());
    expect(docs.map((d: { kind: string }) => d.kind)).toEqual(["EmbeddedModel", "EmbeddedExperiment"]);
    expect(emitted.length).toBe(before);
  });

  it.each([
    ["weights not summing to 100", "kind: experiment\nname: ab\ncandidates: [{name: a, weight: 50}, {name: b, weight: 20}]\n", /weights must sum to 100, got 70 \(a=50, b=20\)/],
    ["an unknown kind", "kind: service\nname: x\n", /kind/],
    ["bad YAML", "kind: [", /YAML/],
    ["an unknown backend", "kind: model\nname: a\nmodel: a\n", /unknown or unconfigured backend kserve/],
  ])("rejects %s with 400", async (_, body, msg) => {
    const q = msg.source.includes("kserve") ? "?backend=kserve" : "";
    const res = await api.request(`/api/v1/deployments${q}`, { method: "POST", body });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(msg);
  });

  it("accepts a DELETE as an undeploy request, 404 for unknown names", async () => {
    const res = await api.request("/api/v1/deployments/iris", { method: "DELETE" });
    expect(res.status).toBe(202);
    expect(parseEvent(emitted.at(-1) as AnyCloudEvent).data).toEqual({ action: "undeploy", name: "iris" });
    expect((await api.request("/api/v1/deployments/ghost", { method: "DELETE" })).status).toBe(404);
  });
});
