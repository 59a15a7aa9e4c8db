// What deploy-model needs injected: registry, serving backends, policies, a work dir, canary state and stats.
import type { BaseDeps } from "../../platform/fn/types.ts";
import type { Policies } from "../../platform/policies/index.ts";
import type { ModelRegistry, ServingBackend } from "../../platform/ports.ts";
import type { ServingBackendName } from "../../platform/specs/deployment.ts";
import { CanaryStore, type CanaryStatsSource } from "./canary.ts";

/** Serialises work per deployment name inside one process (concurrent events for the same deployment). */
export class SerialQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }
}

export interface DeployModelDeps extends BaseDeps {
  readonly registry: ModelRegistry;
  /** The backends this process can apply to; `defaultBackend` must be one of them. */
  readonly backends: Readonly<Partial<Record<ServingBackendName, ServingBackend>>>;
  readonly defaultBackend: ServingBackendName;
  readonly policies: Policies;
  /** Downloads go to `${workDir}/models/<model>/<version>`; canary state to `${workDir}/canaries.json`. */
  readonly workDir: string;
  readonly canaries: CanaryStore;
  /** Per-candidate request/error/latency counts of a running canary experiment. */
  readonly canaryStats: CanaryStatsSource | undefined;
  readonly queue: SerialQueue;
}

export type DeployModelDepsInput = Omit<DeployModelDeps, "canaries" | "queue" | "canaryStats"> & {
  readonly canaries?: CanaryStore;
  readonly canaryStats?: CanaryStatsSource | undefined;
  readonly queue?: SerialQueue;
};

export function createDeployModelDeps(input: DeployModelDepsInput): DeployModelDeps {
  return {
    ...input,
    canaries: input.canaries ?? new CanaryStore(input.workDir),
    canaryStats: input.canaryStats,
    queue: input.queue ?? new SerialQueue(),
  };
}
