// A controller work queue: one reconcile at a time per key, re-run once more if the key was queued meanwhile.
import { KubeError } from "./kube-http.ts";

// A reconcile reads its object from the informer's cache, so the object may be deleted before the reconcile writes:
// the write answers 404. client-go's controllers requeue the key on any error and the next sync sees the deletion
// in the cache and stops; only a 404 that persists past that is reported (it would mean a wrong path, not a race).
const NOT_FOUND_RETRIES = 5;
const NOT_FOUND_DELAY_MS = 100;

export class KeyedQueue {
  readonly #running = new Map<string, Promise<void>>();
  readonly #notFound = new Map<string, number>();
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
      .then(() => void this.#notFound.delete(key))
      .catch((e: unknown) => {
        const seen = this.#notFound.get(key) ?? 0;
        if (e instanceof KubeError && e.code === 404 && seen < NOT_FOUND_RETRIES) {
          this.#notFound.set(key, seen + 1);
          this.addAfter(key, NOT_FOUND_DELAY_MS);
          return;
        }
        this.#notFound.delete(key);
        this.onError(`reconcile ${key}: ${e instanceof Error ? e.message : String(e)}`);
      })
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
