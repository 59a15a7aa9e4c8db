// Tensor data helpers: flatten nested row-major data, check it against a shape, convert between V2 and typed arrays.
import type { V2Datatype } from "./types.ts";

export class TensorError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "TensorError";
  }
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Flatten nested arrays; also returns the nested shape found (for nested data the shape must agree with it). */
export function flatten(data: readonly unknown[]): { flat: readonly unknown[]; nestedShape: number[] | undefined } {
  // Flat data (the common case) is returned as is: callers only read it.
  if (!data.some(Array.isArray)) return { flat: data, nestedShape: undefined };
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const flat = (data as unknown[]).flat(Infinity);
  if (flat.length !== elementCount(shape)) throw new TensorError("data", "nested data is ragged (rows of different lengths)");
  return { flat, nestedShape: shape };
}

const INT_RANGES: Partial<Record<V2Datatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
};

/** Validate and normalise flat values to JS values of the datatype (number, bigint for 64-bit ints, boolean, string). */
export function coerce(flat: readonly unknown[], datatype: V2Datatype, field: string): (number | bigint | boolean | string)[] {
  return flat.map((v, i) => {
    // The field name is built only when throwing, not as a string per value.
    switch (datatype) {
      case "BOOL":
        if (typeof v === "boolean") return v;
        if (v === 0 || v === 1) return v === 1;
        throw new TensorError(`${field}[${i}]`, `expected a boolean, got ${JSON.stringify(v)}`);
      case "BYTES":
        if (typeof v === "string") return v;
        throw new TensorError(`${field}[${i}]`, `expected a string, got ${JSON.stringify(v)}`);
      case "FP16":
      case "FP32":
      case "FP64": {
        const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
        if (typeof n === "number" && !Number.isNaN(n)) return n;
        throw new TensorError(`${field}[${i}]`, `expected a number, got ${JSON.stringify(v)}`);
      }
      case "INT64":
      case "UINT64": {
        if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
        if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
        throw new TensorError(`${field}[${i}]`, `expected an integer, got ${JSON.stringify(v)}`);
      }
      default: {
        const range = INT_RANGES[datatype];
        if (typeof v === "number" && Number.isInteger(v) && range && v >= range[0] && v <= range[1]) return v;
        throw new TensorError(`${field}[${i}]`, `expected an integer in ${datatype} range, got ${JSON.stringify(v)}`);
      }
    }
  });
}

/** Typed-array or plain data back to JSON-safe values (bigints become numbers when exact, strings otherwise). */
export function toJsonValues(data: ArrayLike<unknown>): unknown[] {
  const out: unknown[] = new Array<unknown>(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v === "bigint") out[i] = v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
    else out[i] = v;
  }
  return out;
}

/** Re-nest flat row-major data by shape (used by infer to decode outputs). */
export function nest(flat: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return [...flat];
  const [, ...rest] = shape;
  const size = elementCount(rest);
  const out: unknown[] = [];
  for (let i = 0; i < flat.length; i += size) out.push(nest(flat.slice(i, i + size), rest));
  return out;
}
