// What retrain-on-drift needs injected, and a factory for the embedded platform and for Knative.
import fs from "node:fs";
import path from "node:path";
import type { BaseDeps, HandlerOutcome } from "../../platform/fn/types.ts";
import type { Logger } from "../../platform/log.ts";
import { loadPolicies, type Policies } from "../../platform/policies/index.ts";
import type { EventBus, ModelRegistry } from "../../platform/ports.ts";
import { SqliteRetrainStore, type RetrainStore } from "./store.ts";

export const RETRAIN_SOURCE = "/flywheel/functions/retrain-on-drift";

export interface RetrainDeps extends BaseDeps {
  readonly registry: ModelRegistry;
  readonly policies: Policies;
  readonly store: RetrainStore;
  /** The `source` of the events it emits. */
  readonly source: string;
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
  /** An injected store, or SQLite at `<dataDir>/retrain.sqlite`. One of the two is required. */
  readonly store?: RetrainStore | undefined;
  readonly dataDir?: string | undefined;
  readonly now?: (() => number) | undefined;
  readonly source?: string | undefined;
  readonly labelledSince?: ((model: string, since: number) => number) | undefined;
}

export function createRetrainDeps(o: RetrainDepsOptions): RetrainDeps {
  if (!o.store && o.dataDir) fs.mkdirSync(o.dataDir, { recursive: true });
  const store = o.store ?? (o.dataDir ? new SqliteRetrainStore(path.join(o.dataDir, "retrain.sqlite")) : undefined);
  if (!store) throw new TypeError("createRetrainDeps: pass a store or a dataDir");
  return {
    bus: o.bus,
    registry: o.registry,
    log: o.log,
    policies: o.policies ?? loadPolicies(undefined),
    store,
    now: o.now ?? Date.now,
    source: o.source ?? RETRAIN_SOURCE,
    pending: new Map(),
    labelledSince: o.labelledSince,
  };
}
