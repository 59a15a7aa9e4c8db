// A per-key lock that holds across replicas: in-process order first, then the StateStore's lock for shared keys.
import { KeyedLock } from "../keyed-lock.ts";
import type { StateStore } from "./store.ts";

/** What handlers that serialise per key need (KeyedLock in one process, StateKeyedLock across replicas). */
export interface KeyLock {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Keys for which `shared(key)` is true are also held in the StateStore (a PostgreSQL advisory lock for the length of a
 * transaction), so N replicas take turns; fn's own I/O (MLflow calls) runs while it is held. Waiting in-process first
 * means one replica never holds more than one database connection per key.
 */
export class StateKeyedLock implements KeyLock {
  readonly #local = new KeyedLock();
  readonly #state: StateStore;
  readonly #shared: (key: string) => boolean;
  constructor(state: StateStore, opts: { readonly shared: (key: string) => boolean }) {
    this.#state = state;
    this.#shared = opts.shared;
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.#local.run(key, () => (this.#shared(key) ? this.#state.withLock(`lock:${key}`, () => fn()) : fn()));
  }
}
