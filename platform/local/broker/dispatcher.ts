// The delivery loop: claims due deliveries, sends them with bounded concurrency, and applies DeliverySpec outcomes.
import {
  backoffMs,
  destinationUrl,
  isRetryable,
  isSuccess,
  knativeErrorExtensions,
  decodeErrorData,
  readableReason,
  KNATIVE_ERROR_DATA,
} from "../../eventing/delivery.ts";
import type { DeadLetterStore } from "../../eventing/dead-letter-store.ts";
import { fromStructured } from "../../events/envelope.ts";
import { errorFields, type Logger } from "../../log.ts";
import type { BrokerDb, Claimed } from "./db.ts";
import type { BrokerMetrics, DeliveryOutcome } from "./metrics.ts";
import { encode, sendOnce, type AttemptResult } from "./attempt.ts";
import type { Deliver } from "./types.ts";
import { mark } from "./trace.ts";

export interface DispatcherDeps {
  readonly db: BrokerDb;
  readonly dlq: DeadLetterStore;
  readonly deliver: Deliver;
  readonly log: Logger;
  readonly metrics: BrokerMetrics;
  readonly now: () => number;
  /** Injected sleep (tests control time); undefined = real, cancellable, unref'd timers. */
  readonly sleep: ((ms: number) => Promise<void>) | undefined;
  readonly concurrency: number;
  readonly namespace: string;
}

/**
 * A failed claim or outcome commit (SQLITE_BUSY behind another connection's lock, a full disk) is tried again after
 * 50 ms, doubling up to 5 s while it keeps failing: due retries never wait for the next ingest, and a broken store is
 * never a hot loop. These are retries of the loop, not attempts: a failed claim rolls back, so nothing is counted.
 */
export const STORE_RETRY_FIRST_MS = 50;
export const STORE_RETRY_MAX_MS = 5_000;
const storeRetryMs = (failures: number): number => Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_FIRST_MS * 2 ** Math.min(failures - 1, 16));

export class Dispatcher {
  readonly #d: DispatcherDeps;
  #running = false;
  readonly #inflight = new Map<number, Promise<void>>();
  #completions: { claimed: Claimed; result: AttemptResult }[] = [];
  /** Outcomes whose commit failed, kept for the next try; each still holds its concurrency slot. */
  #unrecorded: { claimed: Claimed; result: AttemptResult }[] = [];
  #pumpFailures = 0;
  #retryScheduled = false;
  #flushFailures = 0;
  #flushScheduled = false;
  #pumpScheduled = false;
  #pumping = false;
  #again = false;
  #nextWakeAt = Number.POSITIVE_INFINITY;
  readonly #timers = new Set<NodeJS.Timeout>();
  #idleWaiters: (() => void)[] = [];

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    this.#running = true;
    this.schedule();
  }

  /** Stop claiming; wait up to graceMs for attempts in flight, and record what finished. */
  async stop(graceMs: number): Promise<void> {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inflight.values()]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#flush();
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Attempts that may start now without exceeding the concurrency (0 once stopped). */
  free(): number {
    return this.#running ? Math.max(0, this.#d.concurrency - this.#inflight.size - this.#unrecorded.length) : 0;
  }

  /** Send deliveries already marked in flight (claimed when their event was stored), without waiting for a pump. */
  launchAll(claimed: readonly Claimed[]): void {
    for (const c of claimed) this.#launch(c);
  }

  /** Coalesce pump requests into one per macrotask (an ingress burst claims in batches). */
  schedule(): void {
    if (this.#pumpScheduled || !this.#running) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.pump();
    });
  }

  pump(): void {
    if (!this.#running) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        const free = this.free();
        if (free <= 0) break;
        const now = this.#d.now();
        const claimed = this.#d.db.relaxed(() => this.#d.db.claimDue(now, free));
        for (const c of claimed) this.#launch(c);
        if (claimed.length < free) {
          const next = this.#d.db.nextDueAt();
          if (next !== undefined) this.#wakeAt(next);
        }
      } while (this.#again);
      this.#pumpFailures = 0;
    } catch (e) {
      this.#pumpFailures++;
      const retryInMs = storeRetryMs(this.#pumpFailures);
      this.#d.log.error("broker dispatch loop failed; it tries again", { ...errorFields(e), failures: this.#pumpFailures, retryInMs });
      if (this.#d.db.db.open && !this.#retryScheduled) {
        this.#retryScheduled = true;
        this.#later(retryInMs, () => {
          this.#retryScheduled = false;
          this.schedule();
        });
      }
    } finally {
      this.#pumping = false;
    }
    this.#checkIdle();
  }

  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#inflight.size > 0 || this.#completions.length > 0 || this.#unrecorded.length > 0) return;
    if (this.#running && this.#d.db.unfinished() > 0) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  #wakeAt(at: number): void {
    if (at >= this.#nextWakeAt) return;
    this.#nextWakeAt = at;
    this.#later(Math.max(0, at - this.#d.now()), () => {
      if (this.#nextWakeAt === at) this.#nextWakeAt = Number.POSITIVE_INFINITY;
      this.schedule();
    });
  }

  /** Run `fn` after `ms` on the injected sleep, or on a cancellable, unref'd timer. */
  #later(ms: number, fn: () => void): void {
    if (this.#d.sleep) {
      void this.#d.sleep(ms).then(fn);
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  #launch(c: Claimed): void {
    const p = this.#attempt(c).finally(() => {
      this.#inflight.delete(c.seq);
    });
    this.#inflight.set(c.seq, p);
  }

  async #attempt(c: Claimed): Promise<void> {
    const started = performance.now();
    mark("sending", String(c.event.id));
    let result: AttemptResult;
    try {
      result = await sendOnce(this.#d.deliver, c, encode({ ...c.event, ...c.extensions }, c.delivery.format));
    } catch (e) {
      result = { status: undefined, body: undefined, error: e instanceof Error ? e.message : String(e) };
    }
    mark("sent", String(c.event.id));
    this.#d.metrics.duration.observe({ trigger: metricTrigger(c) }, (performance.now() - started) / 1000);
    this.#completions.push({ claimed: c, result });
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Completions of one tick share one transaction (one fsync). Losing them in a crash only means a redelivery.
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
      this.pump();
      this.#checkIdle();
    });
  }

  #flush(): void {
    const batch = [...this.#unrecorded.splice(0), ...this.#completions.splice(0)];
    if (batch.length === 0 || !this.#d.db.db.open) return;
    const now = this.#d.now();
    const after: (() => void)[] = [];
    try {
      this.#d.db.relaxed(() =>
        this.#d.db.db.transaction(() => {
          for (const { claimed, result } of batch) after.push(this.#apply(claimed, result, now));
        })(),
      );
    } catch (e) {
      // Nothing of the batch was written. Running: keep the outcomes and commit them again later (each keeps its
      // concurrency slot meanwhile). Stopping: the rows stay in flight and are attempted again after a restart.
      this.#flushFailures++;
      const retryInMs = storeRetryMs(this.#flushFailures);
      this.#d.log.error("broker could not record delivery outcomes", { ...errorFields(e), outcomes: batch.length, retryInMs });
      if (this.#running) {
        this.#unrecorded = batch;
        this.#later(retryInMs, () => this.#scheduleFlush());
      }
      return;
    }
    this.#flushFailures = 0;
    for (const f of after) f();
    for (const { claimed } of batch) mark("recorded", String(claimed.event.id));
  }

  /** Record one attempt's outcome (inside the flush transaction); returns the metrics/log side effects to run after commit. */
  #apply(c: Claimed, r: AttemptResult, now: number): () => void {
    const { db, dlq, log, metrics } = this.#d;
    const count = (outcome: DeliveryOutcome) => () => metrics.deliveries.inc({ trigger: metricTrigger(c), outcome });
    if (r.status !== undefined && isSuccess(r.status)) {
      db.setState(c.seq, "delivered", now, { status: r.status });
      return count("success");
    }
    const retryable = isRetryable(r.status);
    const retriesDone = c.attempt - 1;
    if (retryable && retriesDone < c.delivery.retry) {
      const nextAt = now + backoffMs(c.delivery.backoffPolicy, c.delivery.backoffDelayMs, c.attempt);
      db.setState(c.seq, "pending", now, { status: r.status, error: r.error, nextAt });
      return count("retry");
    }
    const outcome: DeliveryOutcome = retryable ? "dead_letter" : "rejected";
    const fields = { trigger: c.trigger, eventId: String(c.event.id), type: String(c.event.type), status: r.status, attempts: c.attempt };
    if (c.kind === "dead_letter_sink") {
      db.setState(c.seq, "failed", now, { status: r.status, error: r.error });
      return () => {
        count(outcome)();
        log.error("deadLetterSink delivery failed; the dead letter stays in the broker's queue", { ...fields, error: r.error, reason: readableReason(r.body ?? "") });
      };
    }
    const ext = knativeErrorExtensions({
      destination: destinationUrl(c.target, this.#d.namespace),
      status: r.status,
      body: r.body,
      error: r.error,
    });
    db.setState(c.seq, "dead_lettered", now, { status: r.status, error: r.error });
    const { created } = dlq.record({ event: fromStructured({ ...c.event, ...ext }), trigger: c.trigger, attempts: c.attempt, at: now });
    const dls = c.delivery.deadLetterSink;
    if (dls) {
      db.addDelivery(
        c.eventSeq,
        { trigger: c.trigger, kind: "dead_letter_sink", target: dls, delivery: { ...c.delivery, deadLetterSink: undefined }, extensions: ext },
        now,
      );
    }
    return () => {
      count(outcome)();
      if (created) metrics.deadLetters.inc({ type: String(c.event.type) });
      log.warn("event dead-lettered", { ...fields, error: r.error, reason: decodeErrorData(ext[KNATIVE_ERROR_DATA]), retryable });
    };
  }
}

function metricTrigger(c: Claimed): string {
  return c.kind === "dead_letter_sink" ? `${c.trigger}/dead-letter-sink` : c.trigger;
}
