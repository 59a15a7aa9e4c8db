// onnxruntime session options from the typed config: the same intra-op thread count and spin-waiting for every
// session Flywheel creates (the embedded V2 server, the standalone V2 runtime, log-model's evaluation).
import type ort from "onnxruntime-node";

export interface OnnxThreading {
  /** Threads one model run may use (onnxruntime's intra-op pool, the calling thread included). */
  readonly intraOpThreads: number;
  /** Whether pool threads spin-wait for work after a parallel op instead of sleeping. */
  readonly spinning: boolean;
}

/**
 * For tiny and tabular models served next to the HTTP server: one thread, no spin-waiting. onnxruntime's own default
 * is a pool as wide as the cores it detects, whose threads spin after each parallel op; with a model large enough to
 * use the pool that doubled the CPU per request over HTTP on 2 cores (docs/serving.md, "onnxruntime threads").
 */
export const DEFAULT_ONNX_THREADING: OnnxThreading = { intraOpThreads: 1, spinning: false };

/**
 * Worker threads per model in the V2 server (FLYWHEEL_ONNX_WORKERS): 0, each run on the event loop. A thread frees the
 * event loop during a run but costs a thread wake-up and a message each way; for a model as small as Iris that cost
 * more than the run (bench/serving; docs/serving.md, "Model runs in worker threads"). Raise it for models whose runs
 * take milliseconds, so health checks and other models' requests are not held behind them.
 */
export const DEFAULT_ONNX_WORKERS = 0;

/** The session options for `t`. Sequential execution: the inter-op pool only serves the parallel mode. */
export function onnxSessionOptions(t: OnnxThreading = DEFAULT_ONNX_THREADING): ort.InferenceSession.SessionOptions {
  const spin = t.spinning ? "1" : "0";
  return {
    intraOpNumThreads: t.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    // onnxruntime-node joins nested keys with dots: session.intra_op.allow_spinning (onnxruntime_session_options_config_keys.h).
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}
