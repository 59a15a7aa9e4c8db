// Hands stored transitions to the status listener in order, once each; failures are retried (and re-sent after a restart).
import { errorFields, type Logger } from "../../log.ts";
import type { JobStore } from "../store.ts";
import type { JobListener } from "../updates.ts";

const RETRY_MS = 2000;

export class Notifier {
  #listener: JobListener | undefined;
  #running: Promise<void> = Promise.resolve();
  #again = false;
  #busy = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly log: Logger,
    listener: JobListener | undefined,
  ) {
    this.#listener = listener;
  }

  setListener(l: JobListener): void {
    this.#listener = l;
    this.flush();
  }

  /** Deliver every not-yet-notified transition; concurrent calls coalesce into one more pass. */
  flush(): void {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#running = this.#pass().finally(() => {
      this.#busy = false;
      if (this.#again) {
        this.#again = false;
        this.flush();
      }
    });
  }

  /** Waits until the queue is empty (or a delivery failed and is waiting for its retry). */
  async drain(): Promise<void> {
    while (this.#busy) await this.#running;
    if (this.#retry) clearTimeout(this.#retry);
  }

  async #pass(): Promise<void> {
    const listener = this.#listener;
    if (!listener) return;
    for (const n of this.store.pendingNotices()) {
      const job = this.store.get(n.jobId);
      if (!job) {
        this.store.markNotified(n.seq);
        continue;
      }
      try {
        await listener({ job, transition: n.transition, logTail: n.logTail, traceparent: this.store.traceparent(n.jobId) });
        this.store.markNotified(n.seq);
      } catch (e) {
        // Keep order: stop here and try again later; the listener is idempotent (same event ids).
        this.log.warn("job status listener failed; will retry", { jobId: n.jobId, state: n.transition.state, ...errorFields(e) });
        this.#retry ??= setTimeout(() => {
          this.#retry = undefined;
          this.flush();
        }, RETRY_MS);
        this.#retry.unref();
        return;
      }
    }
  }
}
