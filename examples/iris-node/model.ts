// Multinomial logistic regression (softmax) trained by full-batch gradient descent on standardized features.
import { rng, type Sample } from "./data.ts";

/** Weights on RAW features (standardization folded in), rounded to float32 exactly as the ONNX file stores them. */
export interface LinearModel {
  /** [features][classes], row-major like the ONNX Gemm B input */
  readonly weights: readonly (readonly number[])[];
  readonly bias: readonly number[];
}

export interface EpochStats {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
}

export interface TrainOptions {
  readonly epochs: number;
  readonly lr: number;
  readonly seed: number;
  readonly l2?: number;
  readonly classes: number;
  readonly onEpoch?: (s: EpochStats) => void;
}

export function softmax(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The trainer's own forward pass: probabilities per row. Computed in float32 steps to mirror onnxruntime. */
export function forward(model: LinearModel, rows: readonly (readonly number[])[]): number[][] {
  const f = Math.fround;
  return rows.map((x) => {
    const logits = model.bias.map((b, k) => {
      let acc = 0;
      for (let j = 0; j < x.length; j++) acc = f(acc + f(f(x[j] ?? 0) * (model.weights[j]?.[k] ?? 0)));
      return f(acc + b);
    });
    return softmax(logits);
  });
}

export const argmax = (v: readonly number[]): number => v.reduce((best, x, i) => (x > (v[best] ?? -Infinity) ? i : best), 0);

export function predict(model: LinearModel, rows: readonly (readonly number[])[]): number[] {
  return forward(model, rows).map(argmax);
}

export function crossEntropy(model: LinearModel, data: readonly Sample[]): number {
  const probs = forward(
    model,
    data.map((s) => s.x),
  );
  const total = probs.reduce((acc, p, i) => acc - Math.log(Math.max(p[data[i]?.y ?? 0] ?? 0, 1e-12)), 0);
  return total / Math.max(data.length, 1);
}

export function accuracy(model: LinearModel, data: readonly Sample[]): number {
  const pred = predict(
    model,
    data.map((s) => s.x),
  );
  return pred.filter((p, i) => p === data[i]?.y).length / Math.max(data.length, 1);
}

/** Train on `train`; standardization statistics come from the training split only. */
export function train(data: readonly Sample[], opts: TrainOptions): LinearModel {
  const d = data[0]?.x.length ?? 0;
  const k = opts.classes;
  const n = data.length;
  const mean = Array.from({ length: d }, (_, j) => data.reduce((a, s) => a + (s.x[j] ?? 0), 0) / n);
  const std = Array.from({ length: d }, (_, j) =>
    Math.sqrt(data.reduce((a, s) => a + ((s.x[j] ?? 0) - (mean[j] ?? 0)) ** 2, 0) / n) || 1,
  );
  const z = data.map((s) => s.x.map((v, j) => (v - (mean[j] ?? 0)) / (std[j] ?? 1)));
  const rand = rng(opts.seed ^ 0x9e3779b9);
  const w = Array.from({ length: d }, () => Array.from({ length: k }, () => (rand() - 0.5) * 0.02));
  const b = new Array<number>(k).fill(0);
  const l2 = opts.l2 ?? 1e-3;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const gw = Array.from({ length: d }, () => new Array<number>(k).fill(0));
    const gb = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const zi = z[i] ?? [];
      const p = softmax(b.map((bk, c) => zi.reduce((acc, v, j) => acc + v * (w[j]?.[c] ?? 0), bk)));
      for (let c = 0; c < k; c++) {
        const g = (p[c] ?? 0) - (data[i]?.y === c ? 1 : 0);
        gb[c] = (gb[c] ?? 0) + g / n;
        for (let j = 0; j < d; j++) (gw[j] as number[])[c] = (gw[j]?.[c] ?? 0) + (g * (zi[j] ?? 0)) / n;
      }
    }
    for (let j = 0; j < d; j++)
      for (let c = 0; c < k; c++) (w[j] as number[])[c] = (w[j]?.[c] ?? 0) - opts.lr * ((gw[j]?.[c] ?? 0) + l2 * (w[j]?.[c] ?? 0));
    for (let c = 0; c < k; c++) b[c] = (b[c] ?? 0) - opts.lr * (gb[c] ?? 0);
    if (opts.onEpoch) {
      const m = fold(w, b, mean, std);
      opts.onEpoch({ epoch, loss: crossEntropy(m, data), accuracy: accuracy(m, data) });
    }
  }
  return fold(w, b, mean, std);
}

/** z = (x - mean) / std, so W_raw = W / std and b_raw = b - sum_j mean_j / std_j * W_j. */
function fold(w: number[][], b: number[], mean: number[], std: number[]): LinearModel {
  const weights = w.map((row, j) => row.map((v) => Math.fround(v / (std[j] ?? 1))));
  const bias = b.map((bk, c) => Math.fround(w.reduce((acc, row, j) => acc - ((mean[j] ?? 0) / (std[j] ?? 1)) * (row[c] ?? 0), bk)));
  return { weights, bias };
}
