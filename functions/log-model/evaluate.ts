// Scoring a model on a labelled holdout, by flavor: ONNX in-process with the real onnxruntime; any other flavor
// through a pluggable evaluation step (a command given the model dir and the holdout CSV, printing {"accuracy": x}).
import { execFile } from "node:child_process";
import fs from "node:fs";
import { ValidationError } from "../../platform/errors.ts";
import { readMlModel } from "../../platform/serving/mlmodel.ts";
import { DEFAULT_ONNX_THREADING, onnxSessionOptions, type OnnxThreading } from "../../platform/serving/onnx-options.ts";

export interface Holdout {
  /** Local path of the CSV (feature columns, then `label`). */
  readonly file: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly number[])[];
  readonly labels: readonly string[];
}

export interface Evaluator {
  /** Accuracy of the model in `modelDir` on the holdout. */
  accuracy(modelDir: string, holdout: Holdout): Promise<number>;
  readonly method: string;
}

export function readHoldout(file: string): Holdout {
  const [head, ...lines] = fs.readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim());
  const cols = (head ?? "").split(",").map((s) => s.trim());
  const li = cols.indexOf("label");
  if (li < 0) throw new ValidationError([{ field: "holdout.csv", message: "needs a label column" }]);
  const columns = cols.filter((_, i) => i !== li);
  const rows: number[][] = [];
  const labels: string[] = [];
  for (const line of lines) {
    const cells = line.split(",").map((s) => s.trim());
    rows.push(cells.filter((_, i) => i !== li).map(Number));
    labels.push(cells[li] ?? "");
  }
  return { file, columns, rows, labels };
}

const argmax = (v: ArrayLike<number>, from: number, k: number): number => {
  let best = 0;
  for (let j = 1; j < k; j++) if (Number(v[from + j]) > Number(v[from + best])) best = j;
  return best;
};

/**
 * The real onnxruntime: features in the signature's column order, the int label output (or argmax of probabilities).
 * Its session takes the configured threads and spin-waiting, as the serving sessions do (config.serving.onnx).
 */
export function onnxEvaluatorWith(threading: OnnxThreading = DEFAULT_ONNX_THREADING): Evaluator {
  return {
    method: "onnxruntime",
    async accuracy(modelDir, h) {
      const info = readMlModel(modelDir);
      if (!info.onnxFile) throw new ValidationError([{ field: "model", message: `no ONNX file in ${modelDir}` }]);
      const order = info.signature?.inputs.map((s) => s.name).filter((n): n is string => Boolean(n) && h.columns.includes(n ?? "")) ?? [];
      const cols = order.length === h.columns.length ? order : [...h.columns];
      const idx = cols.map((c) => h.columns.indexOf(c));
      const n = h.rows.length;
      const data = new Float32Array(n * cols.length);
      h.rows.forEach((r, i) => idx.forEach((j, k) => (data[i * cols.length + k] = r[j] ?? 0)));
      // The native runtime loads on the first evaluation, not at start-up: most events log-model handles score nothing.
      // Named exports, not default: under tsx the namespace of this CommonJS package has no default.
      const ort = await import("onnxruntime-node");
      const session = await ort.InferenceSession.create(info.onnxFile, onnxSessionOptions(threading));
      try {
        const input = session.inputNames[0] ?? "input";
        const out = await session.run({ [input]: new ort.Tensor("float32", data, [n, cols.length]) });
        const classes = info.labels ?? [];
        const tensors = Object.values(out);
        const labelOut = tensors.find((t) => (t.type === "int64" || t.type === "int32") && t.data.length === n);
        const probs = tensors.find((t) => t.type === "float32" && t.dims.length === 2 && t.dims[0] === n);
        let correct = 0;
        for (let i = 0; i < n; i++) {
          const k = labelOut ? Number(labelOut.data[i]) : probs ? argmax(probs.data as Float32Array, i * Number(probs.dims[1]), Number(probs.dims[1])) : -1;
          const predicted = classes[k] ?? String(k);
          if (predicted === h.labels[i]) correct++;
        }
        return n === 0 ? 0 : correct / n;
      } finally {
        await session.release();
      }
    },
  };
}

/** With the default threading (one thread, no spin-waiting). */
export const onnxEvaluator: Evaluator = onnxEvaluatorWith();

/** The pluggable step: argv + [modelDir, holdoutCsv]; stdout's last line is JSON with `accuracy`. Never a shell. */
export function commandEvaluator(argv: readonly string[], timeoutMs = 300_000): Evaluator {
  const [cmd, ...args] = argv;
  if (!cmd) throw new RangeError("commandEvaluator: empty argv");
  return {
    method: `command:${cmd.split("/").pop() ?? cmd}`,
    accuracy: (modelDir, h) =>
      new Promise((resolve, reject) => {
        execFile(cmd, [...args, modelDir, h.file], { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout) => {
          if (err) return reject(new Error(`evaluation step ${cmd} failed: ${err.message.split("\n")[0] ?? ""}`));
          const last = stdout.trim().split("\n").at(-1) ?? "";
          try {
            const v: unknown = (JSON.parse(last) as { accuracy?: unknown }).accuracy;
            if (typeof v === "number" && Number.isFinite(v)) return resolve(v);
          } catch {
            // reported below
          }
          reject(new Error(`evaluation step ${cmd} printed no {"accuracy": number}`));
        });
      }),
  };
}

/** The evaluator for a flavor: ONNX built in, the rest from the gate policy's `evaluators` (flavor -> argv). */
export function evaluatorFor(flavor: string, configured: Readonly<Record<string, readonly string[]>>, onnx?: OnnxThreading): Evaluator | undefined {
  const argv = configured[flavor];
  if (argv?.length) return commandEvaluator(argv);
  if (flavor !== "onnx") return undefined;
  return onnx ? onnxEvaluatorWith(onnx) : onnxEvaluator;
}
