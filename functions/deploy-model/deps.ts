// What deploy-model needs injected: registry, serving backends, policies, a work dir, canary state and stats.
import type { BaseDeps } from "../../platform/fn/types.ts";
import type { Policies } from "../../platform/policies/index.ts";
import type { ModelRegistry, ServingBackend } from "../../platform/ports.ts";
import type { ServingBackendName } from "../../platform/specs/deployment.ts";
import { CanaryStore, type CanaryRecords, type CanaryStatsSource } from "./canary.ts";
import { KeyedLock } from "../../platform/keyed-lock.ts";
import type { KeyLock } from "../../platform/state/index.ts";

export interface DeployModelDeps extends BaseDeps {
  readonly registry: ModelRegistry;
  /** The backends this process can apply to; `defaultBackend` must be one of them. */
  readonly backends: Readonly<Partial<Record<ServingBackendName, ServingBackend>>>;
  readonly defaultBackend: ServingBackendName;
  readonly policies: Policies;
  /** Downloads go to `${workDir}/models/<model>/<version>` (scratch: re-downloaded when missing). */
  readonly workDir: string;
  /** Running canaries: the StateStore when wired (both modes), else `${workDir}/canaries.json`. */
  readonly canaries: CanaryRecords;
  /** Per-candidate request/error/latency counts of a running canary experiment. */
  readonly canaryStats: CanaryStatsSource | undefined;
  /** Serialises changes per deployment name: in-process, or across replicas (StateKeyedLock) in Knative. */
  readonly queue: KeyLock;
}

export type DeployModelDepsInput = Omit<DeployModelDeps, "canaries" | "queue" | "canaryStats"> & {
  readonly canaries?: CanaryRecords;
  readonly canaryStats?: CanaryStatsSource | undefined;
  readonly queue?: KeyLock;
};

export function createDeployModelDeps(input: DeployModelDepsInput): DeployModelDeps {
  return {
    ...input,
    canaries: input.canaries ?? new CanaryStore(input.workDir),
    canaryStats: input.canaryStats,
    queue: input.queue ?? new KeyedLock(),
  };
}
