// What feedback needs injected: the inference log (requests and labelled rows), the id verifier, live accuracy.
import type { BaseDeps } from "../../platform/fn/types.ts";
import type { RequestIds } from "../../platform/inference-log/ids.ts";
import type { AccuracySource, LiveAccuracy } from "../../platform/inference-log/accuracy.ts";
import type { FileInferenceLog } from "../../platform/inference-log/store.ts";
import type { Policies } from "../../platform/policies/index.ts";
import type { ModelRegistry } from "../../platform/ports.ts";

export interface FeedbackDeps extends BaseDeps {
  readonly store: FileInferenceLog;
  readonly ids: RequestIds;
  readonly accuracy: LiveAccuracy;
  /**
   * Where the rollback policy reads live accuracy: Prometheus (every replica's counters) when configured, else this
   * process' `accuracy`.
   */
  readonly accuracySource?: AccuracySource | undefined;
  readonly policies: Policies;
  /** For the accuracy rollback policy (champion and previous-champion aliases). */
  readonly registry?: ModelRegistry | undefined;
}
