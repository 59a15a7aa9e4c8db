// The trainer end to end: its ONNX file loads in onnxruntime-node and agrees with the trainer's own forward pass.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import ort from "onnxruntime-node";
import YAML from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { FEATURES, LABELS, loadIris } from "../../../examples/iris-node/data.ts";
import { argmax, forward } from "../../../examples/iris-node/model.ts";
import { run, DEFAULT_PARAMS } from "../../../examples/iris-node/train.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "iris-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("iris trainer", () => {
  const out = path.join(tmp, "inproc");
  const result = run(DEFAULT_PARAMS, out);

  it("writes a model whose onnxruntime predictions match the forward pass", async () => {
    const session = await ort.InferenceSession.create(path.join(out, "model", "model.onnx"));
    expect(session.inputNames).toEqual(["input"]);
    expect(session.outputNames).toEqual(["probabilities", "label"]);
    const rows = loadIris().map((s) => s.x);
    const input = new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, 4]);
    const res = await session.run({ input });
    const probs = res.probabilities?.data;
    const labels = res.label?.data;
    expect(probs).toBeInstanceOf(Float32Array);
    expect(labels).toBeInstanceOf(BigInt64Array);
    const mine = forward(result.model, rows);
    mine.forEach((p, i) => {
      p.forEach((v, k) => expect(Math.abs(v - Number((probs as Float32Array)[i * 3 + k]))).toBeLessThan(1e-5));
      expect(Number((labels as BigInt64Array)[i])).toBe(argmax(p));
    });
    expect(result.metrics.accuracy).toBeGreaterThanOrEqual(0.9);
  });

  it("writes MLmodel, metrics, baseline and progress per docs/artifacts.md", () => {
    const ml = YAML.parse(fs.readFileSync(path.join(out, "model", "MLmodel"), "utf8"));
    expect(Object.keys(ml.flavors).sort()).toEqual(["onnx", "python_function"]);
    expect(ml.metadata.labels).toEqual([...LABELS]);
    // Only true claims: no MLflow wrote this (no mlflow_version), no Python ran (no python_version, no pinned env), and
    // the ONNX versions named are the model file's own (ModelProto field 1, ir_version, is its first bytes).
    expect(ml.mlflow_version).toBeUndefined();
    expect(ml.flavors.python_function.python_version).toBeUndefined();
    expect(ml.flavors.onnx.onnx_version).toBeUndefined();
    const onnxBytes = fs.readFileSync(path.join(out, "model", "model.onnx"));
    expect([onnxBytes[0], onnxBytes[1]]).toEqual([0x08, ml.metadata.onnx_ir_version]);
    expect(ml.metadata.onnx_opset).toBe(13);
    const reqs = fs.readFileSync(path.join(out, "model", "requirements.txt"), "utf8").trim().split("\n");
    expect(reqs.some((r) => r.includes("=="))).toBe(false);
    expect(fs.existsSync(path.join(out, "model", "python_env.yaml"))).toBe(false);
    expect(JSON.parse(ml.signature.inputs).map((c: { name: string }) => c.name)).toEqual([...FEATURES]);
    expect(JSON.parse(ml.signature.outputs).map((c: { name: string }) => c.name)).toEqual(["probabilities", "label"]);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, "metrics.json"), "utf8"));
    expect(metrics.accuracy).toBe(result.metrics.accuracy);
    expect(typeof metrics.loss).toBe("number");
    const base = JSON.parse(fs.readFileSync(path.join(out, "baseline.json"), "utf8"));
    expect(base.version).toBe(1);
    expect(base.rows).toBe(150);
    for (const f of FEATURES) {
      const h = base.features[f];
      expect(h.edges).toHaveLength(h.counts.length + 1);
      expect(h.counts.reduce((a: number, b: number) => a + b, 0)).toBe(150);
    }
    // np.histogram(iris.sepal_length, 10)
    expect(base.features.sepal_length.counts).toEqual([9, 23, 14, 27, 16, 26, 18, 6, 5, 6]);
    const freq = Object.values(base.predictions.frequencies).reduce((a: number, b) => a + Number(b), 0);
    expect(freq).toBeCloseTo(1, 3);
    const lines = fs.readFileSync(path.join(out, "progress.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(DEFAULT_PARAMS.epochs * 2);
    expect(lines[0]).toMatchObject({ step: 1, metric: "loss" });
  });

  it("runs as `node --import tsx train.ts` with params from the environment", async () => {
    const dir = path.join(tmp, "child");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/iris-node/train.ts"], {
      cwd: path.resolve(import.meta.dirname, "../../.."),
      env: { ...process.env, FLYWHEEL_ARTIFACT_DIR: dir, FLYWHEEL_PARAMS: JSON.stringify({ epochs: "20", lr: "0.3" }) },
    });
    expect(stdout).toMatch(/epochs=20 lr=0.3/);
    expect(fs.readFileSync(path.join(dir, "progress.jsonl"), "utf8").trim().split("\n")).toHaveLength(40);
    expect(fs.existsSync(path.join(dir, "model", "model.onnx"))).toBe(true);
  });

  it("exits non-zero with a message on bad params", async () => {
    const err = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/iris-node/train.ts"], {
      cwd: path.resolve(import.meta.dirname, "../../.."),
      env: { ...process.env, FLYWHEEL_ARTIFACT_DIR: path.join(tmp, "bad"), FLYWHEEL_PARAM_LR: "fast" },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect(String((err as { stderr: string }).stderr)).toMatch(/lr must be a number/);
  });
});
