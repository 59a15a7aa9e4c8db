// What launch-training needs injected, and the factory the embedded platform and the Knative entry both use.
import type { DataWindows } from "../../platform/datasets/window.ts";
import type { BaseDeps } from "../../platform/fn/types.ts";
import type { Logger } from "../../platform/log.ts";
import type { EventBus, TrainingBackend } from "../../platform/ports.ts";
import type { StatusSource } from "../../triggers/kubernetes/status.ts";

export interface LaunchTrainingDeps extends BaseDeps {
  readonly backend: TrainingBackend;
  /** Knative mode: the Kubernetes backend, to turn ApiServerSource events (sunk into this function) into status events. */
  readonly status?: StatusSource | undefined;
  /** Turns a spec's dataWindow into a concrete dataset the job reads (absent: windows are not resolved). */
  readonly windows?: DataWindows | undefined;
}

export interface LaunchTrainingOptions {
  readonly bus: EventBus;
  readonly backend: TrainingBackend;
  readonly log: Logger;
  readonly now?: (() => number) | undefined;
  readonly status?: StatusSource | undefined;
  readonly windows?: DataWindows | undefined;
}

/**
 * Deps for the handler. The backend's status listener (trainingEventsFromBackend) is wired where the backend is
 * built: the handler only launches, and training.started/succeeded/failed come from the backend as the job moves.
 */
export function createLaunchTraining(o: LaunchTrainingOptions): LaunchTrainingDeps {
  return { bus: o.bus, backend: o.backend, log: o.log, now: o.now ?? Date.now, status: o.status, windows: o.windows };
}
