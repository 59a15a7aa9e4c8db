// Serialises async work per key inside one process (one model's gate decisions, one deployment's changes).

export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs fn after every earlier run with the same key has settled (resolved or rejected). */
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
