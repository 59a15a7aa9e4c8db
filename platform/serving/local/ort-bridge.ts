// Bridge between V2 tensors and onnxruntime-node tensors: datatype mapping, conversion, metadata.
import type ort from "onnxruntime-node";
import { coerce, elementCount, flatten, TensorError, toJsonValues } from "../v2/tensor.ts";
import { V2_DATATYPES, type RequestInput, type ResponseOutput, type TensorMetadata, type V2Datatype } from "../v2/types.ts";

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

export interface Feed {
  readonly name: string;
  readonly datatype: V2Datatype;
  readonly dims: number[];
  /** Already coerced to the model's datatype. */
  readonly values: (number | bigint | boolean | string)[];
}

/**
 * Check one request input against the model's input metadata and convert it to the model's datatype.
 * Numeric datatypes convert into each other (FP64 data to an FP32 input, INT64 to FP32, ...), like MLServer's numpy cast.
 */
export function toFeed(input: RequestInput, meta: TensorMetadata, field: string): Feed {
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
  const values = input.datatype === meta.datatype ? parsed : parsed.map((v) => convert(v, meta.datatype));
  return { name: meta.name, datatype: meta.datatype, dims: [...input.shape], values };
}

function convert(v: number | bigint | boolean | string, to: V2Datatype): number | bigint {
  const n = typeof v === "bigint" ? Number(v) : Number(v);
  if (to === "INT64" || to === "UINT64") return BigInt(Math.trunc(n));
  if (to.startsWith("INT") || to.startsWith("UINT")) return Math.trunc(n);
  return n;
}

/** `Tensor` is the loaded runtime's constructor (loaded-model imports onnxruntime when the first model loads). */
export function toOrtTensor(feed: Feed, Tensor: typeof ort.Tensor): ort.Tensor {
  if (feed.datatype === "FP16") throw new TensorError(feed.name, "FP16 inputs are not supported by the embedded server");
  const type = V2_TO_ORT[feed.datatype];
  return new Tensor(type, typedArray(type, feed.values), feed.dims);
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

export function fromOrtTensor(name: string, t: ort.Tensor): ResponseOutput {
  const datatype = v2Datatype(t.type);
  const data = datatype === "BOOL" ? Array.from(t.data as Uint8Array, (b) => b !== 0) : toJsonValues(t.data as ArrayLike<unknown>);
  return { name, datatype, shape: [...t.dims], data };
}
