// What log-model needs injected, and the factory the lead wires in embedded mode.
import type { BaseDeps } from "../../platform/fn/types.ts";
import type { MlflowClient } from "../../platform/mlflow/index.ts";
import type { Policies } from "../../platform/policies/index.ts";
import { KeyedLock } from "../../platform/keyed-lock.ts";
import type { OnnxThreading } from "../../platform/serving/onnx-options.ts";
import type { KeyLock } from "../../platform/state/lock.ts";

export { KeyedLock };

export interface LogModelDeps extends BaseDeps {
  readonly mlflow: MlflowClient;
  readonly policies: Policies;
  /** Where the training artifacts PVC is mounted (Knative): pvc://flywheel-artifacts/<job> outputs are read there. */
  readonly artifactsPvcDir?: string | undefined;
  /**
   * Per-model and per-event serialisation (gate decisions, duplicate deliveries in flight). In Knative mode the
   * `model:` keys are held in the StateStore, so replicas promote one at a time (StateKeyedLock).
   */
  readonly locks: KeyLock;
  /** onnxruntime threads and spin-waiting of the ONNX evaluator's sessions (config.serving.onnx); defaults when absent. */
  readonly onnx?: OnnxThreading | undefined;
}

export type LogModelDepsInput = Omit<LogModelDeps, "locks"> & { readonly locks?: KeyLock };

/** Build log-model's deps: { bus, log, now, mlflow, policies } plus its own lock. */
export function createLogModelDeps(input: LogModelDepsInput): LogModelDeps {
  return { ...input, locks: input.locks ?? new KeyedLock() };
}
