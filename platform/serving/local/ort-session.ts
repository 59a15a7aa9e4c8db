// A model's onnxruntime session for the embedded server: onnxruntime-node's native binding called directly when it has
// the shape this adapter was written against, else the public InferenceSession API.
//
// Why: the binding's run is synchronous, and the public run wraps it in a setImmediate turn (onnxruntime-node's
// backend.js), re-checks its arguments and needs ort.Tensor feeds: about 8 of the 18-21 µs CPU one Iris run costs in
// the public API (10-11 µs direct). Everything the direct path relies on is checked when a model loads; a different
// onnxruntime-node whose internals differ loads through the public API instead, with the same results.
import type ort from "onnxruntime-node";

/** A feed as the binding reads it (type, dims, data, location); the public path wraps it in an ort.Tensor. */
export interface FeedTensor {
  readonly type: ort.Tensor.Type;
  readonly dims: readonly number[];
  readonly data: ort.Tensor.DataType;
}

/** An output tensor: only its type, dims and data are read. */
export interface OutputTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: ort.Tensor.DataType;
}

export interface ModelSession {
  /** "native": runs call the binding directly; "public": through InferenceSession.run. */
  readonly path: "native" | "public";
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  /** Runs the model; every name in `outputs` is in the answer (else it throws). */
  run(feeds: Readonly<Record<string, FeedTensor>>, outputs: readonly string[]): Promise<Record<string, OutputTensor>>;
  release(): Promise<void>;
}

// --- The public API ---------------------------------------------------------------------------------------------------

type Ort = typeof ort;

export async function publicSession(model: string | Uint8Array, runtime?: Ort): Promise<ModelSession> {
  // Named exports, not default: under tsx the namespace of this CommonJS package has no default.
  const o = runtime ?? (await import("onnxruntime-node"));
  const session = typeof model === "string" ? await o.InferenceSession.create(model) : await o.InferenceSession.create(model);
  return {
    path: "public",
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    async run(feeds, outputs) {
      const input: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) input[name] = tensorOf(o, f);
      return session.run(input, [...outputs]);
    },
    release: () => session.release(),
  };
}

function tensorOf(o: Ort, f: FeedTensor): ort.Tensor {
  // The Tensor constructor's overloads pair each type with its data kind; FeedTensor keeps them apart, as the binding does.
  if (Array.isArray(f.data)) return new o.Tensor("string", f.data.map(String), [...f.dims]);
  return new o.Tensor(f.type, f.data, [...f.dims]);
}

// --- The native binding -------------------------------------------------------------------------------------------

/** onnxruntime-node 1.30's binding (dist/binding.d.ts), as far as this adapter uses it. */
interface NativeSession {
  loadModel(path: string, options: object): void;
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: unknown;
  readonly outputMetadata: unknown;
  run(feeds: object, fetches: object, options: object): unknown;
  dispose(): void;
}
export interface NativeBinding {
  readonly binding: { readonly InferenceSession: new () => NativeSession };
  readonly initOrt: () => void;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const isFunction = (v: unknown): v is (...args: never[]) => unknown => typeof v === "function";

function isNativeBinding(v: unknown): v is NativeBinding {
  if (!isRecord(v) || !isFunction(v["initOrt"]) || !isRecord(v["binding"])) return false;
  const ctor = v["binding"]["InferenceSession"];
  if (!isFunction(ctor) || !isRecord(ctor.prototype)) return false;
  const proto = ctor.prototype;
  return ["loadModel", "run", "dispose"].every((m) => isFunction(proto[m]));
}

/**
 * The binding in onnxruntime-node's dist/binding.js module (as imported: named exports, or only a default with
 * esbuild's or another loader's interop) when it has the expected shape; else undefined.
 */
export function nativeBindingOf(mod: unknown): NativeBinding | undefined {
  if (isNativeBinding(mod)) return mod;
  return isRecord(mod) && isNativeBinding(mod["default"]) ? mod["default"] : undefined;
}

async function importBinding(): Promise<unknown> {
  try {
    return await import("onnxruntime-node/dist/binding.js");
  } catch {
    // Another layout of the package: the public API serves.
    return undefined;
  }
}

/** onnxruntime-node's element type codes (backend.js's dataTypeStrings), by ONNX TensorProto number. */
const DATA_TYPES: readonly (ort.Tensor.Type | undefined)[] = [undefined, "float32", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool", "float16", "float64", "uint32", "uint64"];

/**
 * The binding's raw metadata as InferenceSession.ValueMetadata, exactly as backend.js converts it (a symbolic dim is
 * its name); undefined when it is not of the shape expected.
 */
export function valueMetadata(raw: unknown): ort.InferenceSession.ValueMetadata[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const out: ort.InferenceSession.ValueMetadata[] = [];
  for (const m of raw) {
    if (!isRecord(m) || typeof m["name"] !== "string" || typeof m["isTensor"] !== "boolean") return undefined;
    if (!m["isTensor"]) {
      out.push({ name: m["name"], isTensor: false });
      continue;
    }
    const type = typeof m["type"] === "number" ? DATA_TYPES[m["type"]] : undefined;
    const shape = m["shape"];
    const symbolic = m["symbolicDimensions"];
    if (type === undefined || !Array.isArray(shape) || !Array.isArray(symbolic)) return undefined;
    const dims: (number | string)[] = [];
    for (const [i, d] of shape.entries()) {
      const name: unknown = symbolic[i];
      if (d === -1 && typeof name === "string") dims.push(name);
      else if (typeof d === "number" && Number.isInteger(d) && d >= 0) dims.push(d);
      else return undefined;
    }
    out.push({ name: m["name"], isTensor: true, type, shape: dims });
  }
  return out;
}

// What the binding returns is an ort.Tensor (it constructs them): its data getter gives the typed array (strings: array).
const isOutput = (v: unknown): v is OutputTensor => isRecord(v) && typeof v["type"] === "string" && Array.isArray(v["dims"]) && (ArrayBuffer.isView(v["data"]) || Array.isArray(v["data"]));

/**
 * A session on the binding, or undefined when the loaded session is not as expected (it is disposed then). Throws what
 * the binding throws (a model it cannot load).
 */
export function nativeSession(native: NativeBinding, model: string | Uint8Array): ModelSession | undefined {
  native.initOrt();
  const session = new native.binding.InferenceSession();
  // The options the public API passes when given none: executionProviders filtered to the available ones, of none.
  const options = { executionProviders: [] };
  if (typeof model === "string") session.loadModel(model, options);
  else session.loadModel(model.buffer, model.byteOffset, model.byteLength, options);
  const inputMetadata = valueMetadata(session.inputMetadata);
  const outputMetadata = valueMetadata(session.outputMetadata);
  if (!inputMetadata || !outputMetadata) {
    session.dispose();
    return undefined;
  }
  const runOptions = {};
  return {
    path: "native",
    inputMetadata,
    outputMetadata,
    async run(feeds, outputs) {
      const input: Record<string, object> = {};
      for (const [name, f] of Object.entries(feeds)) input[name] = { type: f.type, dims: f.dims, data: f.data, location: "cpu" };
      const fetches: Record<string, null> = {};
      for (const name of outputs) fetches[name] = null;
      const result = session.run(input, fetches, runOptions);
      const out: Record<string, OutputTensor> = {};
      for (const name of outputs) {
        const t = isRecord(result) ? result[name] : undefined;
        if (!isOutput(t)) throw new Error(`onnxruntime returned no tensor for output ${name}`);
        out[name] = t;
      }
      return out;
    },
    release: async () => session.dispose(),
  };
}

export interface OpenOptions {
  /** Use the public API even where the binding is as expected (its path stays tested). */
  readonly publicOnly?: boolean | undefined;
  /** The binding module to use instead of the installed onnxruntime-node's (tests give it other shapes). */
  readonly bindingModule?: unknown;
}

/** The model's session: the native binding when it is as expected, the public API otherwise. */
export async function openSession(model: string | Uint8Array, opts: OpenOptions = {}): Promise<ModelSession> {
  const native = opts.publicOnly ? undefined : nativeBindingOf("bindingModule" in opts ? opts.bindingModule : await importBinding());
  if (native) {
    try {
      const session = nativeSession(native, model);
      if (session) return session;
    } catch {
      // A model the binding refuses (or a binding whose loadModel differs): the public API loads it or gives its own
      // error, the one callers have always seen.
    }
  }
  return publicSession(model);
}
