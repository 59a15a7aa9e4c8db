// From V2 model metadata to one form field per feature, a V2 request from the form, and a readable prediction back.
import type { V2InferRequest, V2InferResponse, V2ModelMetadata } from "../deps.ts";
import { Errors } from "../forms.ts";
import type { FormBody } from "../forms.ts";

export interface FeatureField {
  readonly name: string;
  /** The V2 input tensor the value goes into, and its position in the row. */
  readonly input: string;
  readonly index: number;
  readonly datatype: string;
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.length && v.every((x) => typeof x === "string") ? v.filter((x): x is string => typeof x === "string") : undefined;
}

/** Feature names the server publishes (parameters.features / columns / feature_names), if any. */
function publishedNames(meta: V2ModelMetadata): string[] | undefined {
  const p = meta.parameters ?? {};
  return stringList(p.features) ?? stringList(p.columns) ?? stringList(p.feature_names);
}

export function labelsOf(meta: V2ModelMetadata): string[] | undefined {
  return stringList(meta.parameters?.labels);
}

export function featureFields(meta: V2ModelMetadata): FeatureField[] {
  const names = publishedNames(meta);
  const first = meta.inputs[0];
  if (meta.inputs.length === 1 && first) {
    // One matrix input [batch, n]: one field per column.
    const n = first.shape.length >= 2 ? first.shape[first.shape.length - 1] ?? 1 : 1;
    const count = n > 0 ? n : names?.length ?? 1;
    return Array.from({ length: count }, (_, i) => ({
      name: names && names.length === count ? names[i] ?? `${first.name}[${i}]` : count === 1 ? first.name : `${first.name}[${i}]`,
      input: first.name,
      index: i,
      datatype: first.datatype,
    }));
  }
  // One input per feature (columnar models).
  return meta.inputs.map((inp) => ({ name: inp.name, input: inp.name, index: 0, datatype: inp.datatype }));
}

const isNumeric = (dt: string): boolean => dt !== "BYTES" && dt !== "BOOL";

export function buildRequest(meta: V2ModelMetadata, form: FormBody): { request: V2InferRequest } | { errors: Errors } {
  const fields = featureFields(meta);
  const errors = new Errors();
  const values = new Map<string, unknown[]>();
  fields.forEach((f, i) => {
    const raw = (form[`f_${i}`] ?? "").trim();
    let v: unknown = raw;
    if (!raw) errors.add(`f_${i}`, `${f.name} is required`);
    else if (isNumeric(f.datatype)) {
      const n = Number(raw);
      if (!Number.isFinite(n)) errors.add(`f_${i}`, `${f.name} must be a number`);
      else if (f.datatype.startsWith("INT") || f.datatype.startsWith("UINT")) {
        if (!Number.isInteger(n)) errors.add(`f_${i}`, `${f.name} must be a whole number`);
        v = n;
      } else v = n;
    } else if (f.datatype === "BOOL") v = raw === "true" || raw === "1";
    let row = values.get(f.input);
    if (!row) values.set(f.input, (row = []));
    row[f.index] = v;
  });
  if (!errors.empty) return { errors };
  const inputs = meta.inputs.filter((inp) => values.has(inp.name)).map((inp) => {
    const data = values.get(inp.name) ?? [];
    const shape = inp.shape.length >= 2 ? [1, data.length] : [data.length];
    return { name: inp.name, shape, datatype: inp.datatype, data };
  });
  return { request: { id: `ui-${Date.now().toString(36)}`, inputs } };
}

/** The prediction in words: a label tensor, or a class index mapped through labels, or argmax of probabilities. */
export function describePrediction(res: V2InferResponse, labels: readonly string[] | undefined): string {
  const preferred = ["label", "output_label", "predict", "predictions", "species"];
  const outs = [...res.outputs].sort((a, b) => rank(a.name) - rank(b.name));
  function rank(n: string): number {
    const i = preferred.indexOf(n.toLowerCase());
    return i < 0 ? preferred.length : i;
  }
  const out = outs[0];
  if (!out) return "(no outputs)";
  const flat = out.data.flat(Infinity);
  if (out.datatype === "BYTES") return flat.map(String).join(", ");
  const width = out.shape.length >= 2 ? out.shape[out.shape.length - 1] ?? 1 : 1;
  if (width > 1 && flat.every((x) => typeof x === "number")) {
    const row = flat.slice(0, width).map(Number);
    const best = row.indexOf(Math.max(...row));
    return labels?.[best] ?? `class ${best}`;
  }
  return flat.map((x) => (typeof x === "number" && Number.isInteger(x) && labels?.[x] !== undefined ? labels[x] : String(x))).join(", ");
}

export interface ClassProbability {
  readonly label: string;
  readonly p: number;
}

/** The first row's class probabilities (a float output as wide as the classes), most likely first; [] when none. */
export function classProbabilities(res: V2InferResponse, labels: readonly string[] | undefined): ClassProbability[] {
  const out = res.outputs.find((o) => o.datatype.startsWith("FP") && (o.shape[o.shape.length - 1] ?? 1) > 1 && (!labels || o.shape[o.shape.length - 1] === labels.length));
  if (!out) return [];
  const width = out.shape[out.shape.length - 1] ?? 1;
  const row = out.data.flat(Infinity).slice(0, width).map(Number);
  if (!row.every(Number.isFinite)) return [];
  return row.map((p, i) => ({ label: labels?.[i] ?? `class ${i}`, p })).sort((a, b) => b.p - a.p);
}

/** The same from the infer function's decoded predictions ([{label: "setosa", probabilities: {setosa: 0.9, ...}}]). */
export function probabilitiesFromDecoded(predictions: unknown): { label: string | undefined; probs: ClassProbability[] } {
  const first: unknown = Array.isArray(predictions) ? predictions[0] : predictions;
  if (!first || typeof first !== "object") return { label: typeof first === "string" ? first : undefined, probs: [] };
  let label: string | undefined;
  let probs: ClassProbability[] = [];
  for (const v of Object.values(first)) {
    if (typeof v === "string" && label === undefined) label = v;
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      const entries = Object.entries(v).filter((e): e is [string, number] => typeof e[1] === "number");
      if (entries.length > 1) probs = entries.map(([l, p]) => ({ label: l, p })).sort((a, b) => b.p - a.p);
    }
  }
  return { label: label ?? probs[0]?.label, probs };
}
