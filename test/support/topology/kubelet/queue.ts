// A controller work queue: one reconcile at a time per key, re-run once more if the key was queued meanwhile.
export class KeyedQueue {
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(
    private readonly reconcile: (key: string) => Promise<void>,
    private readonly onError: (message: string) => void,
  ) {}

  add(key: string): void {
    if (this.#closed) return;
    if (this.#running.has(key)) {
      this.#again.add(key);
      return;
    }
    const p = this.reconcile(key)
      .catch((e: unknown) => this.onError(`reconcile ${key}: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.#running.delete(key);
        if (this.#again.delete(key)) this.add(key);
      });
    this.#running.set(key, p);
  }

  /** Requeue after a delay (backoffs, deadlines). */
  addAfter(key: string, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.add(key);
    }, Math.max(0, ms));
    t.unref();
    this.#timers.add(t);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.#running.values());
  }
}
