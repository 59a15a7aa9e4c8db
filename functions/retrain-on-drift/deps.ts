// What retrain-on-drift needs injected, and a factory for the embedded platform and for Knative.
import type { BaseDeps, HandlerOutcome } from "../../platform/fn/types.ts";
import type { Logger } from "../../platform/log.ts";
import { loadPolicies, type Policies } from "../../platform/policies/index.ts";
import type { EventBus, ModelRegistry } from "../../platform/ports.ts";
import type { Registry } from "prom-client";
import { createRetrainMetrics, type RetrainMetrics } from "./metrics.ts";
import type { RetrainStore } from "./store.ts";

export const RETRAIN_SOURCE = "/flywheel/functions/retrain-on-drift";

export interface RetrainDeps extends BaseDeps {
  readonly registry: ModelRegistry;
  readonly policies: Policies;
  readonly store: RetrainStore;
  /** The `source` of the events it emits. */
  readonly source: string;
  /** Decision and outcome counters (FlywheelRetrainStuck). */
  readonly metrics?: RetrainMetrics | undefined;
  /** Deliveries of the same event being handled right now in this process (concurrent duplicates wait for the first). */
  readonly pending: Map<string, Promise<HandlerOutcome>>;
  /** Labelled feedback rows of a model that arrived after `since` (epoch ms); absent = the new-data check is off. */
  readonly labelledSince?: ((model: string, since: number) => number) | undefined;
}

export interface RetrainDepsOptions {
  readonly bus: EventBus;
  readonly registry: ModelRegistry;
  readonly log: Logger;
  /** Default: the built-in policies (1 in flight, 60 min cooldown, 3 a day). */
  readonly policies?: Policies | undefined;
  /** A StateRetrainStore on the platform's StateStore (SQLite embedded, PostgreSQL in Knative), or a MemoryRetrainStore. */
  readonly store: RetrainStore;
  readonly now?: (() => number) | undefined;
  readonly source?: string | undefined;
  /** Registry the retrain counters go on. */
  readonly metrics?: Registry | undefined;
  readonly labelledSince?: ((model: string, since: number) => number) | undefined;
}

export function createRetrainDeps(o: RetrainDepsOptions): RetrainDeps {
  return {
    bus: o.bus,
    registry: o.registry,
    log: o.log,
    policies: o.policies ?? loadPolicies(undefined),
    store: o.store,
    now: o.now ?? Date.now,
    source: o.source ?? RETRAIN_SOURCE,
    pending: new Map(),
    metrics: o.metrics ? createRetrainMetrics(o.metrics) : undefined,
    labelledSince: o.labelledSince,
  };
}
