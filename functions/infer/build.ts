// Builds the exact V2 request for a model from plain records: datatype, shape and row-major data from the model's
// metadata, column order from the MLmodel signature. Mismatches become a 400 listing the expected inputs.
import { ValidationError, type FieldIssue } from "../../platform/errors.ts";
import type { InferRequest, RequestInput, TensorMetadata, V2Datatype } from "../../platform/serving/v2/types.ts";
import { normalise } from "./nl.ts";
import type { Row } from "./input.ts";
import { forEachPaced } from "./pace.ts";

export interface ModelInfo {
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  /** Feature names in tensor column order (MLmodel signature), when known. */
  readonly columns: readonly string[] | undefined;
  readonly labels: readonly string[] | undefined;
}

/** A 400 that also carries what the model expects, so the caller can fix the request. */
export class InputMismatchError extends ValidationError {
  constructor(
    issues: readonly FieldIssue[],
    readonly expected: readonly { name: string; datatype: string }[],
  ) {
    super(issues, `expected inputs: ${expected.map((e) => `${e.name} (${e.datatype})`).join(", ")}; ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
  }
}

/** The named features a record must carry: signature columns of a [-1, K] tensor, or one input per feature. */
export function featureNames(info: ModelInfo): { name: string; datatype: V2Datatype }[] {
  const single = info.inputs.length === 1 ? info.inputs[0] : undefined;
  if (single && single.shape.length === 2 && info.columns && (single.shape[1] === -1 || single.shape[1] === info.columns.length)) {
    return info.columns.map((name) => ({ name, datatype: single.datatype }));
  }
  return info.inputs.map((i) => ({ name: i.name, datatype: i.datatype }));
}

function value(raw: unknown, datatype: V2Datatype): unknown {
  if (datatype === "BYTES") return typeof raw === "string" ? raw : raw === undefined ? undefined : JSON.stringify(raw);
  if (datatype === "BOOL") return typeof raw === "boolean" ? raw : raw === "true" ? true : raw === "false" ? false : undefined;
  const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(n)) return undefined;
  return datatype.startsWith("FP") ? n : Number.isInteger(n) ? n : undefined;
}

/** Records -> V2 request, plus the numeric features per name (for drift). */
export function buildRequest(records: readonly Row[], info: ModelInfo, id?: string): { request: InferRequest; features: Record<string, number[]> } {
  const b = builder(info);
  records.forEach(b.add);
  return b.finish(records.length, id);
}

/** buildRequest for the request path: yields to the event loop every few hundred records. */
export async function buildRequestPaced(records: readonly Row[], info: ModelInfo, id?: string): Promise<{ request: InferRequest; features: Record<string, number[]> }> {
  const b = builder(info);
  await forEachPaced(records, b.add);
  return b.finish(records.length, id);
}

/** Column-wise accumulation of records (add one at a time), then the V2 request (finish). */
function builder(info: ModelInfo): { add: (rec: Row, r: number) => void; finish: (n: number, id?: string) => { request: InferRequest; features: Record<string, number[]> } } {
  const expected = featureNames(info);
  const issues: FieldIssue[] = [];
  const byNorm = new Map(expected.map((e) => [normalise(e.name), e.name]));
  const types = new Map(expected.map((e) => [e.name, e.datatype]));
  const columns: Record<string, unknown[]> = Object.fromEntries(expected.map((e) => [e.name, []]));
  const add = (rec: Row, r: number): void => {
    const seen = new Set<string>();
    for (const [key, raw] of Object.entries(rec)) {
      // Own keys only: "toString" or "__proto__" in a record must not find Object.prototype members.
      const name = Object.hasOwn(columns, key) ? key : byNorm.get(normalise(key));
      if (!name) {
        issues.push({ field: `records[${r}].${key}`, message: "is not an input of this model" });
        continue;
      }
      seen.add(name);
      const datatype = types.get(name) ?? "FP32";
      const v = value(raw, datatype);
      if (v === undefined) issues.push({ field: `records[${r}].${key}`, message: `expected ${datatype === "BYTES" ? "a string" : datatype === "BOOL" ? "a boolean" : "a number"}, got ${JSON.stringify(raw)}` });
      else columns[name]?.push(v);
    }
    for (const e of expected) if (!seen.has(e.name)) issues.push({ field: `records[${r}].${e.name}`, message: "is missing" });
  };
  const finish = (n: number, id?: string): { request: InferRequest; features: Record<string, number[]> } => {
    if (expected.length === 0) issues.push({ field: "model", message: "the model publishes no inputs; send a raw V2 request" });
    if (issues.length) throw new InputMismatchError(issues, expected);
    const features: Record<string, number[]> = {};
    for (const e of expected) {
      const vals = columns[e.name] ?? [];
      if (vals.every((v) => typeof v === "number")) features[e.name] = vals as number[];
    }
    let inputs: RequestInput[];
    const single = info.inputs.length === 1 ? info.inputs[0] : undefined;
    if (single && expected.length && expected[0]?.name !== single.name) {
      const cols = expected.map((e) => columns[e.name] ?? []);
      const data = new Array<unknown>(n * cols.length);
      for (let r = 0; r < n; r++) for (let c = 0; c < cols.length; c++) data[r * cols.length + c] = cols[c]?.[r];
      inputs = [{ name: single.name, shape: [n, expected.length], datatype: single.datatype, data }];
    } else {
      inputs = info.inputs.map((i) => ({ name: i.name, shape: i.shape.length >= 2 ? [n, ...i.shape.slice(1).map((d) => (d < 0 ? 1 : d))] : [n], datatype: i.datatype, data: columns[i.name] ?? [] }));
    }
    return { request: { ...(id ? { id } : {}), inputs }, features };
  };
  return { add, finish };
}
