// Decodes V2 outputs into plain JSON per row: class indices become labels, class probabilities a {label: p} map.
import { elementCount, nest } from "../../platform/serving/v2/tensor.ts";
import type { InferResponse } from "../../platform/serving/v2/types.ts";
import { forEachPaced } from "./pace.ts";

export type Prediction = Record<string, unknown>;

const isInt = (d: string): boolean => d.startsWith("INT") || d.startsWith("UINT");

export function decodeOutputs(response: InferResponse, labels: readonly string[] | undefined): Prediction[] {
  const rows = rowCount(response);
  return Array.from({ length: rows }, (_, r) => decodeRow(response, labels, rows, r));
}

/** decodeOutputs for the request path: yields to the event loop every few hundred rows. */
export async function decodeOutputsPaced(response: InferResponse, labels: readonly string[] | undefined): Promise<Prediction[]> {
  const rows = rowCount(response);
  const out: Prediction[] = [];
  await forEachPaced(Array.from({ length: rows }, (_, r) => r), (r) => out.push(decodeRow(response, labels, rows, r)));
  return out;
}

const rowCount = (response: InferResponse): number => Math.max(0, ...response.outputs.map((o) => o.shape[0] ?? 0));

/** Row r of every output: a label, a {label: p} map, a scalar or a nested array. */
function decodeRow(response: InferResponse, labels: readonly string[] | undefined, rows: number, r: number): Prediction {
  const pred: Prediction = {};
  for (const o of response.outputs) {
    const perRow = o.shape[0] === rows && o.shape.length >= 1;
    const rest = perRow ? o.shape.slice(1) : o.shape;
    const size = elementCount(rest);
    const vals = perRow ? o.data.slice(r * size, (r + 1) * size) : o.data;
    if (labels && isInt(o.datatype) && size === 1) {
      const idx = Number(vals[0]);
      pred[o.name] = labels[idx] ?? idx;
    } else if (labels && o.datatype.startsWith("FP") && size === labels.length && rest.length <= 1) {
      pred[o.name] = Object.fromEntries(labels.map((l, i) => [l, vals[i]]));
    } else {
      pred[o.name] = size === 1 && rest.length <= 1 ? vals[0] : nest(vals, rest);
    }
  }
  return pred;
}

/** The label per row for drift and summaries: an int label output, else the argmax of a probability output. */
export function predictedClasses(response: InferResponse, labels: readonly string[] | undefined): (string | number)[] {
  const rows = response.outputs[0]?.shape[0] ?? 0;
  const labelOut = response.outputs.find((o) => isInt(o.datatype) && elementCount(o.shape) === rows);
  if (labelOut) return labelOut.data.map((v) => labels?.[Number(v)] ?? Number(v));
  const probs = response.outputs.find((o) => o.datatype.startsWith("FP") && o.shape.length === 2);
  if (!probs) return [];
  const k = probs.shape[1] ?? 1;
  return Array.from({ length: rows }, (_, r) => {
    const row = probs.data.slice(r * k, (r + 1) * k).map(Number);
    const idx = row.indexOf(Math.max(...row));
    return labels?.[idx] ?? idx;
  });
}
