// Writes the training output contract (docs/artifacts.md): MLmodel dir, metrics.json, baseline.json.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { FEATURES, LABELS, type Sample } from "./data.ts";
import { predict, type LinearModel } from "./model.ts";
import { ONNX_IR_VERSION, ONNX_NAMES, ONNX_OPSET } from "./onnx.ts";

const BINS = 10;

/** The MLmodel signature: inputs as named column specs, outputs as named tensor specs (JSON strings, as MLflow writes). */
export function signature(): { inputs: string; outputs: string } {
  return {
    inputs: JSON.stringify(FEATURES.map((name) => ({ type: "float", name }))),
    outputs: JSON.stringify([
      { type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1, LABELS.length] }, name: ONNX_NAMES.probabilities },
      { type: "tensor", "tensor-spec": { dtype: "int64", shape: [-1] }, name: ONNX_NAMES.label },
    ]),
  };
}

/**
 * The MLmodel, claiming only what is true (docs/artifacts.md, "The Iris model's MLmodel"): this Node trainer wrote it,
 * not MLflow, so there is no mlflow_version; it encodes the ONNX graph itself, so there is no onnx_version; no Python
 * ran, so there is no python_version and no pinned Python environment.
 */
export function mlmodel(now: Date, runId: string | undefined): Record<string, unknown> {
  return {
    artifact_path: "model",
    flavors: {
      onnx: { code: null, data: "model.onnx", providers: ["CPUExecutionProvider"] },
      python_function: { data: "model.onnx", loader_module: "mlflow.onnx" },
    },
    model_uuid: randomUUID().replaceAll("-", ""),
    ...(runId ? { run_id: runId } : {}),
    signature: signature(),
    utc_time_created: now.toISOString().replace("T", " ").replace("Z", ""),
    metadata: {
      labels: [...LABELS],
      written_by: "flywheel examples/iris-node (Node.js, no MLflow library)",
      onnx_ir_version: ONNX_IR_VERSION,
      onnx_opset: ONNX_OPSET,
    },
  };
}

/**
 * What a Python server needs to load the pyfunc flavor: lower bounds that follow from the file, not a pinned
 * environment nobody tested. mlflow.onnx with the MLmodel format of MLflow 2; onnx and onnxruntime that read
 * IR version 7 / opset 13 (ONNX 1.8, onnxruntime 1.6).
 */
export const REQUIREMENTS = ["mlflow>=2.0", "onnx>=1.8", "onnxruntime>=1.6"] as const;

export function writeModelDir(dir: string, onnx: Uint8Array, now: Date, runId?: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "model.onnx"), onnx);
  fs.writeFileSync(path.join(dir, "MLmodel"), YAML.stringify(mlmodel(now, runId)));
  fs.writeFileSync(path.join(dir, "requirements.txt"), REQUIREMENTS.join("\n") + "\n");
}

const round = (v: number, digits = 6): number => Number(v.toFixed(digits));

/** baseline.json format version 1: equal-width histograms over each feature's range, prediction frequencies. */
export function baseline(model: LinearModel, samples: readonly Sample[]): Record<string, unknown> {
  const features: Record<string, unknown> = {};
  FEATURES.forEach((name, j) => {
    const values = samples.map((s) => s.x[j] ?? 0);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const width = (hi - lo) / BINS || 1;
    const edges = Array.from({ length: BINS + 1 }, (_, i) => round(lo + i * width));
    const counts = new Array<number>(BINS).fill(0);
    for (const v of values) {
      // Compare against the written edges (not (v - lo) / width) so a reader re-binning with them gets these counts.
      let bin = 0;
      while (bin < BINS - 1 && v >= (edges[bin + 1] ?? Infinity)) bin++;
      counts[bin] = (counts[bin] ?? 0) + 1;
    }
    features[name] = { type: "numeric", edges, counts };
  });
  const preds = predict(
    model,
    samples.map((s) => s.x),
  );
  const frequencies = Object.fromEntries(LABELS.map((l, c) => [l, round(preds.filter((p) => p === c).length / preds.length, 4)]));
  return { version: 1, features, predictions: { type: "categorical", frequencies }, rows: samples.length };
}
