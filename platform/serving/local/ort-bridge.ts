// Bridge between V2 tensors and onnxruntime-node tensors: datatype mapping, conversion, metadata.
import type ort from "onnxruntime-node";
import { coerce, elementCount, flatten, TensorError, toJsonValues } from "../v2/tensor.ts";
import { V2_DATATYPES, type RequestInput, type ResponseOutput, type TensorMetadata, type V2Datatype } from "../v2/types.ts";
import type { WireTensor } from "./session-runner.ts";

type OrtType = ort.Tensor.Type;

const V2_TO_ORT: Readonly<Record<Exclude<V2Datatype, "FP16">, OrtType>> = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

const ORT_TO_V2: ReadonlyMap<string, V2Datatype> = new Map<string, V2Datatype>([
  ...V2_DATATYPES.flatMap((d): [string, V2Datatype][] => (d === "FP16" ? [["float16", d]] : [[V2_TO_ORT[d], d]])),
]);

export function v2Datatype(ortType: string): V2Datatype {
  const t = ORT_TO_V2.get(ortType);
  if (!t) throw new TensorError("datatype", `onnx type ${ortType} has no V2 datatype`);
  return t;
}

const NUMERIC: ReadonlySet<V2Datatype> = new Set(["UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP32", "FP64"]);

/** Metadata of a session's inputs or outputs; symbolic dims become -1. */
export function sessionMetadata(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorMetadata[] {
  return meta.map((m) => {
    if (!m.isTensor) return { name: m.name, datatype: "BYTES", shape: [-1] };
    return { name: m.name, datatype: v2Datatype(m.type), shape: m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1)) };
  });
}

/** Tensor data of a feed: the typed array of the model's datatype (string[] for BYTES; FP16 stays numbers, refused at run). */
export type FeedData = ort.Tensor.DataType | readonly number[];

export interface Feed {
  readonly name: string;
  readonly datatype: V2Datatype;
  readonly dims: number[];
  /** Already converted to the model's datatype. */
  readonly data: FeedData;
}

/**
 * Check one request input against the model's input metadata and convert it to the model's datatype.
 * Numeric datatypes convert into each other (FP64 data to an FP32 input, INT64 to FP32, ...), like MLServer's numpy cast.
 */
export function toFeed(input: RequestInput, meta: TensorMetadata, field: string): Feed {
  return floatFeed(input, meta) ?? generalFeed(input, meta, field);
}

/**
 * The common case in one pass: flat numbers for a float model input, given as FP32 or FP64, of the model's shape.
 * Anything else (or anything wrong) is undefined and goes to generalFeed, which gives the same value or names the error.
 */
export function floatFeed(input: RequestInput, meta: TensorMetadata): Feed | undefined {
  if ((meta.datatype !== "FP32" && meta.datatype !== "FP64") || (input.datatype !== "FP32" && input.datatype !== "FP64")) return undefined;
  const { shape, data } = input;
  if (shape.length !== meta.shape.length) return undefined;
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const want = meta.shape[i] ?? -1;
    const got = shape[i] ?? 0;
    if (want >= 0 && want !== got) return undefined;
    count *= got;
  }
  if (data.length !== count) return undefined;
  const out = meta.datatype === "FP32" ? new Float32Array(count) : new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const v = data[i];
    // NaN only reaches here from in-process callers (JSON has none); coerce refuses it.
    if (typeof v !== "number" || Number.isNaN(v)) return undefined;
    out[i] = v;
  }
  return { name: meta.name, datatype: meta.datatype, dims: [...shape], data: out };
}

/** Every datatype and data layout, with the field-naming errors. */
export function generalFeed(input: RequestInput, meta: TensorMetadata, field: string): Feed {
  if (input.datatype !== meta.datatype && !(NUMERIC.has(input.datatype) && NUMERIC.has(meta.datatype))) {
    throw new TensorError(`${field}.datatype`, `model input ${meta.name} is ${meta.datatype}, got ${input.datatype}`);
  }
  const { flat, nestedShape } = flatten(input.data);
  if (flat.length !== elementCount(input.shape)) {
    throw new TensorError(`${field}.data`, `shape ${JSON.stringify(input.shape)} needs ${elementCount(input.shape)} values, got ${flat.length}`);
  }
  if (nestedShape && elementCount(nestedShape) !== elementCount(input.shape)) {
    throw new TensorError(`${field}.data`, `nested data of shape ${JSON.stringify(nestedShape)} does not match shape ${JSON.stringify(input.shape)}`);
  }
  if (input.shape.length !== meta.shape.length || meta.shape.some((d, i) => d >= 0 && d !== input.shape[i])) {
    throw new TensorError(`${field}.shape`, `model input ${meta.name} has shape ${JSON.stringify(meta.shape)}, got ${JSON.stringify(input.shape)}`);
  }
  const parsed = coerce(flat, input.datatype, `${field}.data`);
  const values = input.datatype === meta.datatype ? parsed : parsed.map((v, i) => convert(v, meta.datatype, `${field}.data[${i}]`));
  // FP16 has no conversion here: toWireTensor refuses it when the model runs, as before.
  const data = meta.datatype === "FP16" ? values.map(Number) : typedArray(V2_TO_ORT[meta.datatype], values);
  return { name: meta.name, datatype: meta.datatype, dims: [...input.shape], data };
}

function convert(v: number | bigint | boolean | string, to: V2Datatype, field: string): number | bigint {
  const n = Number(v);
  const integer = to.startsWith("INT") || to.startsWith("UINT");
  // An infinity or NaN has no integer value: BigInt() threw a RangeError (a 500) and an Int32Array stored 0 silently.
  if (integer && !Number.isFinite(n)) throw new TensorError(field, `model input is ${to}, and ${String(n)} is not a finite number`);
  if (to === "INT64" || to === "UINT64") return BigInt(Math.trunc(n));
  if (integer) return Math.trunc(n);
  return n;
}

const isTypedData = (d: FeedData): d is Exclude<ort.Tensor.DataType, string[]> => ArrayBuffer.isView(d);

/** A feed as the session runner takes it (session-runner.ts), in the runtime's type names. */
export function toWireTensor(feed: Feed): WireTensor {
  if (feed.datatype === "FP16") throw new TensorError(feed.name, "FP16 inputs are not supported by the embedded server");
  const type = V2_TO_ORT[feed.datatype];
  // General feeds are built by typedArray for this very type; a plain array here would be a bug, not a request error.
  if (isTypedData(feed.data)) return { type, data: feed.data, dims: feed.dims };
  if (type === "string") return { type, data: feed.data.map(String), dims: feed.dims };
  throw new Error(`feed ${feed.name}: ${type} data is not a typed array`);
}

function typedArray(type: OrtType, values: readonly (number | bigint | boolean | string)[]): ort.Tensor.DataType {
  // One pass straight into the typed array (no intermediate number[] per request).
  const big = (v: number | bigint | boolean | string): bigint => (typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v))));
  switch (type) {
    case "float32": return Float32Array.from(values, Number);
    case "float64": return Float64Array.from(values, Number);
    case "int8": return Int8Array.from(values, Number);
    case "uint8": return Uint8Array.from(values, Number);
    case "int16": return Int16Array.from(values, Number);
    case "uint16": return Uint16Array.from(values, Number);
    case "int32": return Int32Array.from(values, Number);
    case "uint32": return Uint32Array.from(values, Number);
    case "int64": return BigInt64Array.from(values, big);
    case "uint64": return BigUint64Array.from(values, big);
    case "bool": return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "string": return values.map(String);
    default: throw new TensorError("datatype", `unsupported tensor type ${type}`);
  }
}

type NumberArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
type BigArray = BigInt64Array | BigUint64Array;
const isBigArray = (d: FeedData): d is BigArray => d instanceof BigInt64Array || d instanceof BigUint64Array;
const isNumberArray = (d: FeedData): d is NumberArray => ArrayBuffer.isView(d) && !isBigArray(d);

function emptyLike(d: NumberArray, n: number): NumberArray {
  if (d instanceof Float32Array) return new Float32Array(n);
  if (d instanceof Float64Array) return new Float64Array(n);
  if (d instanceof Int8Array) return new Int8Array(n);
  if (d instanceof Uint8Array) return new Uint8Array(n);
  if (d instanceof Int16Array) return new Int16Array(n);
  if (d instanceof Uint16Array) return new Uint16Array(n);
  if (d instanceof Int32Array) return new Int32Array(n);
  return new Uint32Array(n);
}

/**
 * The batcher's gather: feeds of one batch share name and model datatype, so their data are of one kind; typed arrays
 * are copied into one of the total length.
 */
export function concatData(parts: readonly FeedData[]): FeedData {
  const [first] = parts;
  if (first === undefined) return [];
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (isNumberArray(first)) {
    const out = emptyLike(first, total);
    let at = 0;
    for (const p of parts) {
      if (!isNumberArray(p)) throw new Error("a batch mixes feed data kinds");
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  if (isBigArray(first)) {
    const out = first instanceof BigInt64Array ? new BigInt64Array(total) : new BigUint64Array(total);
    let at = 0;
    for (const p of parts) {
      if (!isBigArray(p)) throw new Error("a batch mixes feed data kinds");
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  // BYTES (strings) or FP16 (numbers, refused at run).
  const plain: (string | number)[] = [];
  for (const p of parts) for (const v of p) plain.push(typeof v === "string" ? v : Number(v));
  return plain.every((v) => typeof v === "string") ? plain.map(String) : plain.map(Number);
}

export function fromOrtTensor(name: string, t: WireTensor): ResponseOutput {
  const datatype = v2Datatype(t.type);
  const data = datatype === "BOOL" ? Array.from(t.data as Uint8Array, (b) => b !== 0) : toJsonValues(t.data as ArrayLike<unknown>);
  return { name, datatype, shape: [...t.dims], data };
}
