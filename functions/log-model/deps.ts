// What log-model needs injected, and the factory the lead wires in embedded mode.
import type { BaseDeps } from "../../platform/fn/types.ts";
import type { MlflowClient } from "../../platform/mlflow/index.ts";
import type { Policies } from "../../platform/policies/index.ts";

/** Serialises work per key (a model name or an event id) inside one process. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

export interface LogModelDeps extends BaseDeps {
  readonly mlflow: MlflowClient;
  readonly policies: Policies;
  /** Per-model and per-event serialisation (gate decisions, duplicate deliveries in flight). */
  readonly locks: KeyedLock;
}

export type LogModelDepsInput = Omit<LogModelDeps, "locks"> & { readonly locks?: KeyedLock };

/** Build log-model's deps: { bus, log, now, mlflow, policies } plus its own lock. */
export function createLogModelDeps(input: LogModelDepsInput): LogModelDeps {
  return { ...input, locks: input.locks ?? new KeyedLock() };
}
