// Where a loaded model's onnxruntime session runs: inline on the event loop, or in worker threads (ort-worker.ts).
// Both take and give tensors as plain { type, dims, data }, the form that crosses a thread.
import type ort from "onnxruntime-node";

/** A tensor as ort.Tensor is built from it, and as a run's outputs (ort.Tensor has these fields) are read. */
export interface WireTensor {
  readonly type: ort.Tensor.Type;
  readonly dims: readonly number[];
  readonly data: ort.Tensor.DataType;
}

export interface SessionRunner {
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  /** One model run; rejects with the runtime's error (a 500), or an UpstreamError (503) when a worker thread died. */
  run(feeds: Readonly<Record<string, WireTensor>>, outputs: readonly string[]): Promise<Readonly<Record<string, WireTensor>>>;
  release(): Promise<void>;
}

/** The session on the calling thread: each run blocks the event loop for the model's compute. */
export async function inlineRunner(model: string | Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<SessionRunner> {
  // The native runtime loads with the first model, not at import: functions that only share this module's constants
  // and routes (infer in Knative mode calls a remote V2 server) never load it.
  // Named exports, not default: under tsx the namespace of this CommonJS package has no default.
  const { InferenceSession, Tensor } = await import("onnxruntime-node");
  const session = typeof model === "string" ? await InferenceSession.create(model, options) : await InferenceSession.create(model, options);
  return {
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    run: (feeds, outputs) => {
      const input: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) input[name] = new Tensor(t.type, t.data, [...t.dims]);
      return session.run(input, [...outputs]);
    },
    release: () => session.release(),
  };
}
