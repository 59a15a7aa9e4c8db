// LocalServingBackend on real onnxruntime: models, a tensorMap pipeline, experiments (split, sticky, failing mirror),
// deploy-time validation, and deployments restored after a restart.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rng } from "../../../examples/iris-node/data.ts";
import { ValidationError } from "../../../platform/errors.ts";
import type { ApplyContext, ResolvedModel } from "../../../platform/ports.ts";
import { LocalServingBackend } from "../../../platform/serving/local/backend.ts";
import { v2Routes } from "../../../platform/serving/local/routes.ts";
import { EmbeddedV2Server, ROUTE_HEADER } from "../../../platform/serving/local/server.ts";
import { DeploymentSpecSchema, type DeploymentSpec } from "../../../platform/specs/deployment.ts";
import { addModel, scaleModel } from "../../unit/serving/onnx-fixtures.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "serving-"));
const stateDir = path.join(tmp, "state");

function modelFile(name: string, bytes: Uint8Array): ResolvedModel {
  const dir = path.join(tmp, "models", name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "model.onnx"), bytes);
  return { model: name, version: "1", storageUri: `file://${dir}`, localPath: dir, flavors: ["onnx"] };
}

const MODELS: Record<string, ResolvedModel> = {};
const ctx = (revision: string): ApplyContext => ({ revision, models: MODELS });
const spec = (s: unknown): DeploymentSpec => DeploymentSpecSchema.parse(s);
const x = (data: number[]): { inputs: { name: string; shape: number[]; datatype: "FP32"; data: number[] }[] } => ({
  inputs: [{ name: "x", shape: [1, data.length], datatype: "FP32", data }],
});

describe("LocalServingBackend", () => {
  const server = new EmbeddedV2Server({ registry: new Registry() });
  const backend = new LocalServingBackend({ server, stateDir, random: rng(1234), baseUrl: "http://127.0.0.1:1" });
  const app = new Hono().route("/v2", v2Routes(server));

  beforeAll(async () => {
    MODELS.double = modelFile("double", scaleModel(2));
    MODELS.triple = modelFile("triple", scaleModel(3, 2, "input", "out"));
    MODELS.ten = modelFile("ten", scaleModel(10));
    MODELS.adder = modelFile("adder", addModel());
    MODELS.broken = modelFile("broken", scaleModel(1, 2, "other", "y"));
    for (const name of Object.keys(MODELS)) await backend.apply(spec({ kind: "model", name, model: name, version: "1" }), ctx("r1"));
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("serves a model and answers status, list and target", async () => {
    const st = await backend.get("double");
    expect(st).toMatchObject({ name: "double", kind: "model", backend: "local", model: "double", version: "1", revision: "r1", state: "ready" });
    expect(st?.conditions).toEqual([{ type: "Ready", status: "True" }]);
    expect((await backend.list()).map((d) => d.name)).toEqual(["adder", "broken", "double", "ten", "triple"]);
    expect(await backend.target("double")).toEqual({ url: "http://127.0.0.1:1", model: "double", headers: {} });
    await expect(backend.target("nope")).rejects.toThrow(/deployed: adder, broken, double/);
    const res = await app.request("/v2/models/double/infer", { method: "POST", body: JSON.stringify(x([1, 2])) });
    expect((await res.json()).outputs[0].data).toEqual([2, 4]);
  });

  it("is idempotent for the same spec and revision", async () => {
    const before = await backend.get("double");
    const again = await backend.apply(spec({ kind: "model", name: "double", model: "double", version: "1" }), ctx("r1"));
    expect(again).toBe(before);
  });

  it("runs a 2-step pipeline with a tensorMap over V2", async () => {
    await backend.apply(
      spec({
        kind: "pipeline",
        name: "chain",
        steps: [{ name: "double" }, { name: "triple", inputs: ["double.outputs.y"], tensorMap: { "double.outputs.y": "input" } }],
        output: { steps: ["triple"] },
      }),
      ctx("r2"),
    );
    const res = await app.request("/v2/models/chain/infer", { method: "POST", body: JSON.stringify({ id: "c1", ...x([1, 2]) }) });
    expect(await res.json()).toEqual({ model_name: "chain", id: "c1", outputs: [{ name: "out", datatype: "FP32", shape: [1, 2], data: [6, 12] }] });
    const meta = await (await app.request("/v2/models/chain")).json();
    expect(meta.inputs).toEqual([{ name: "x", datatype: "FP32", shape: [-1, 2] }]);
    expect(meta.outputs).toEqual([{ name: "out", datatype: "FP32", shape: [-1, 2] }]);
  });

  it("joins two branches into a two-input model (inner)", async () => {
    await backend.apply(
      spec({
        kind: "pipeline",
        name: "fan",
        steps: [{ name: "double" }, { name: "ten" }, { name: "adder", inputs: ["double.outputs.y", "ten.outputs.y"], tensorMap: { "double.outputs.y": "a", "ten.outputs.y": "b" } }],
        output: { steps: ["adder"] },
      }),
      ctx("r3"),
    );
    const { response } = await server.infer("fan", undefined, x([1, 2]));
    expect(response.outputs[0]?.data).toEqual([12, 24]);
  });

  it("splits an experiment 90/10 within tolerance over 10k requests, and routes sticky", async () => {
    await backend.apply(spec({ kind: "experiment", name: "ab", candidates: [{ name: "double", weight: 90 }, { name: "ten", weight: 10 }] }), ctx("r4"));
    const counts: Record<string, number> = { double: 0, ten: 0 };
    for (let i = 0; i < 10_000; i++) {
      const { response, headers } = await server.infer("ab", undefined, x([1, 1]));
      const route = headers[ROUTE_HEADER] ?? "";
      counts[route] = (counts[route] ?? 0) + 1;
      expect(response.model_name).toBe(route);
      expect(response.outputs[0]?.data[0]).toBe(route === "double" ? 2 : 10);
    }
    // binomial sd = sqrt(10000 * 0.1 * 0.9) = 30; allow 4 sd
    expect(Math.abs((counts.ten ?? 0) - 1000)).toBeLessThan(120);
    for (let i = 0; i < 200; i++) {
      const res = await app.request("/v2/models/ab/infer", { method: "POST", headers: { [ROUTE_HEADER]: "ten" }, body: JSON.stringify(x([1, 1])) });
      expect(res.headers.get(ROUTE_HEADER)).toBe("ten");
      expect(res.headers.get("x-seldon-route")).toBe(":ten:");
    }
    const seldonSticky = await server.infer("ab", undefined, x([1, 1]), { "x-seldon-route": ":ten:" });
    expect(seldonSticky.headers[ROUTE_HEADER]).toBe("ten");
    expect(backend.stats("ab")?.ten?.requests).toBeGreaterThan(1100);
  });

  it("sends mirror traffic that never affects responses, even when the mirror fails", async () => {
    await backend.apply(spec({ kind: "experiment", name: "shadowed", candidates: [{ name: "double", weight: 100 }], mirror: { name: "broken", percent: 100 } }), ctx("r5"));
    for (let i = 0; i < 50; i++) {
      const res = await app.request("/v2/models/shadowed/infer", { method: "POST", body: JSON.stringify(x([1, 2])) });
      expect(res.status).toBe(200);
      expect((await res.json()).outputs[0].data).toEqual([2, 4]);
    }
    await backend.router("shadowed")?.settled();
    const metrics = await server.metrics.mirrored.get();
    const errors = metrics.values.find((v) => v.labels.deployment === "shadowed" && v.labels.outcome === "error")?.value;
    expect(errors).toBe(50);
    const mirrorCalls = await server.metrics.requests.get();
    expect(mirrorCalls.values.find((v) => v.labels.model === "broken" && v.labels.code === "400")?.value).toBe(50);
  });

  it.each([
    ["weights that do not sum to 100", { kind: "experiment", name: "bad-w", candidates: [{ name: "double", weight: 60 }, { name: "ten", weight: 30 }] }, /weights must sum to 100, got 90 \(double=60, ten=30\)/],
    ["an unknown candidate", { kind: "experiment", name: "bad-c", candidates: [{ name: "ghost", weight: 100 }] }, /unknown model ghost/],
    ["an unknown mirror", { kind: "experiment", name: "bad-m", candidates: [{ name: "double", weight: 100 }], mirror: { name: "ghost", percent: 10 } }, /mirror.name: unknown model ghost/],
    ["a dangling reference", { kind: "pipeline", name: "bad-r", steps: [{ name: "double" }, { name: "triple", inputs: ["nope.outputs.y"] }], output: { steps: ["triple"] } }, /nope.outputs.y refers to no step/],
    ["a cycle", { kind: "pipeline", name: "bad-cy", steps: [{ name: "double", inputs: ["triple"] }, { name: "triple", inputs: ["double"] }], output: { steps: ["triple"] } }, /cycle: double -> triple -> double/],
    ["a missing output step", { kind: "pipeline", name: "bad-o", steps: [{ name: "double" }], output: { steps: ["ten"] } }, /output step ten is not a step/],
    ["an unknown model step", { kind: "pipeline", name: "bad-u", steps: [{ name: "ghost" }], output: { steps: ["ghost"] } }, /unknown model ghost/],
    ["a tensorMap key that is not an input", { kind: "pipeline", name: "bad-t", steps: [{ name: "double" }, { name: "triple", inputs: ["double.outputs.y"], tensorMap: { "ten.outputs.y": "input" } }], output: { steps: ["triple"] } }, /ten.outputs.y is not one of the step's inputs/],
  ])("rejects %s with a 400 naming it", async (_, raw, msg) => {
    // Experiments are built without the schema (which also checks the sum) so the backend's own checks are tested.
    const s = raw.kind === "pipeline" ? spec(raw) : ({ resourceType: "model", ...raw } as DeploymentSpec);
    const err = await backend.apply(s, ctx("bad")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).status).toBe(400);
    expect((err as ValidationError).message).toMatch(msg);
  });

  it("refuses to remove a model a pipeline uses, then removes cleanly in order", async () => {
    await expect(backend.remove("triple")).rejects.toThrow(/used by pipeline chain/);
    await backend.remove("chain");
    expect(await backend.get("chain")).toBeUndefined();
    expect((await app.request("/v2/models/chain")).status).toBe(404);
    await backend.remove("chain"); // idempotent
  });

  it("comes back after a restart from the persisted state", async () => {
    const server2 = new EmbeddedV2Server({ registry: new Registry() });
    const backend2 = new LocalServingBackend({ server: server2, stateDir });
    const restored = await backend2.restore();
    expect(restored.map((s) => s.name).sort()).toEqual((await backend.list()).map((s) => s.name));
    expect(restored.every((s) => s.state === "ready")).toBe(true);
    expect((await server2.infer("fan", undefined, x([1, 1]))).response.outputs[0]?.data).toEqual([12, 12]);
    await server2.close();
  });

  it("refuses a non-ONNX model on the embedded server with a clear 400", async () => {
    const dir = path.join(tmp, "models", "sk");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "MLmodel"), "flavors:\n  sklearn: {pickled_model: model.pkl}\n  python_function: {}\n");
    const resolved: ResolvedModel = { model: "sk", version: "1", storageUri: "file://" + dir, localPath: dir, flavors: ["sklearn", "python_function"] };
    await expect(backend.apply(spec({ kind: "model", name: "sk", model: "sk" }), { revision: "x", models: { sk: resolved } })).rejects.toThrow(/serves ONNX models only.*--backend seldon or kserve/);
  });

  it("never loads an ONNX file from outside the downloaded model (MLmodel data ../, or a symlink)", async () => {
    const outside = path.join(tmp, "outside.onnx");
    fs.writeFileSync(outside, scaleModel(7));
    const viaData = path.join(tmp, "models", "escape-data");
    fs.mkdirSync(viaData, { recursive: true });
    fs.writeFileSync(path.join(viaData, "MLmodel"), "flavors:\n  onnx: {data: ../../outside.onnx}\n");
    const viaLink = path.join(tmp, "models", "escape-link");
    fs.mkdirSync(viaLink, { recursive: true });
    fs.symlinkSync(outside, path.join(viaLink, "model.onnx"));
    for (const dir of [viaData, viaLink]) {
      const name = path.basename(dir);
      const resolved: ResolvedModel = { model: name, version: "1", storageUri: "file://" + dir, localPath: dir, flavors: ["onnx"] };
      await expect(backend.apply(spec({ kind: "model", name, model: name }), { revision: "x", models: { [name]: resolved } })).rejects.toBeInstanceOf(ValidationError);
      expect(server.models.get(name)).toBeUndefined();
    }
  });
});
