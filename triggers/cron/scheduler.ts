// The embedded twin of Knative's PingSource: croner schedules that emit dev.knative.sources.ping onto the bus.
import { randomUUID } from "node:crypto";
import { CloudEvent } from "cloudevents";
import type { Cron } from "croner";
import { UpstreamError } from "../../platform/errors.ts";
import { PING_EVENT_TYPE, type AnyCloudEvent } from "../../platform/events/index.ts";
import { errorFields, type Logger } from "../../platform/log.ts";
import type { EventBus } from "../../platform/ports.ts";
import { cronFor, pingData, type Schedule } from "./schedules.ts";

/** Time, injectable so tests can move it; the default is the system clock. */
export interface Clock {
  now(): number;
  /** Run fn after ms; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

export interface CronSchedulerOptions {
  readonly bus: EventBus;
  readonly schedules: readonly Schedule[];
  /** Namespace used in the PingSource-style source attribute. */
  readonly namespace: string;
  readonly log: Logger;
  readonly clock?: Clock | undefined;
  /** Knative adds 0-500 ms of jitter to each tick; off by default. */
  readonly jitterMs?: number | undefined;
  /** Attempts to hand one ping to the bus before the tick is given up (logged). Default 3. */
  readonly emitAttempts?: number | undefined;
}

export interface ScheduleStatus {
  readonly name: string;
  readonly model: string;
  readonly schedule: string;
  readonly timezone: string;
  readonly nextRun: string | undefined;
  readonly lastRun: string | undefined;
  readonly lastEventId: string | undefined;
}

interface Job {
  readonly s: Schedule;
  readonly cron: Cron;
  cancel: (() => void) | undefined;
  next: number | undefined;
  lastRun: number | undefined;
  lastEventId: string | undefined;
}

/** Longest single timer: setTimeout overflows past 2^31-1 ms, so long waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The ping event exactly as a PingSource named `name` in `namespace` emits it. */
export function pingEvent(s: Schedule, namespace: string, at: Date): AnyCloudEvent {
  return new CloudEvent<unknown>({
    specversion: "1.0",
    type: PING_EVENT_TYPE,
    source: `/apis/v1/namespaces/${namespace}/pingsources/${s.name}`,
    id: randomUUID(),
    time: at.toISOString(),
    datacontenttype: "application/json",
    data: pingData(s),
  });
}

/**
 * Each schedule fires at its next cron time after "now". A tick that falls while the process is down (or asleep past
 * it) is not replayed: on start, and after every tick, the next time is computed from the current clock, as PingSource.
 */
export class CronScheduler {
  readonly #o: CronSchedulerOptions;
  readonly #clock: Clock;
  #jobs = new Map<string, Job>();
  #running = false;

  constructor(opts: CronSchedulerOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#build(opts.schedules);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const job of this.#jobs.values()) this.#arm(job);
  }

  stop(): void {
    this.#running = false;
    for (const job of this.#jobs.values()) this.#disarm(job);
  }

  /** Swap in a new schedules list (file edited); running schedules are re-armed from now. */
  reload(schedules: readonly Schedule[]): void {
    for (const job of this.#jobs.values()) this.#disarm(job);
    this.#build(schedules);
    if (this.#running) for (const job of this.#jobs.values()) this.#arm(job);
  }

  list(): ScheduleStatus[] {
    return [...this.#jobs.values()].map((j) => ({
      name: j.s.name,
      model: j.s.model,
      schedule: j.s.schedule,
      timezone: j.s.timezone,
      nextRun: j.next === undefined ? this.#nextAfter(j)?.toISOString() : new Date(j.next).toISOString(),
      lastRun: j.lastRun === undefined ? undefined : new Date(j.lastRun).toISOString(),
      lastEventId: j.lastEventId,
    }));
  }

  /** Fire a schedule now, outside its cron times ("run now" in the UI). undefined: no such schedule; throws if the bus failed. */
  async trigger(name: string): Promise<AnyCloudEvent | undefined> {
    const job = this.#jobs.get(name);
    return job ? this.#emit(job, true) : undefined;
  }

  #build(schedules: readonly Schedule[]): void {
    this.#jobs = new Map(schedules.map((s) => [s.name, { s, cron: cronFor(s), cancel: undefined, next: undefined, lastRun: undefined, lastEventId: undefined }]));
  }

  #nextAfter(job: Job): Date | undefined {
    return job.cron.nextRun(new Date(this.#clock.now())) ?? undefined;
  }

  #arm(job: Job): void {
    const next = this.#nextAfter(job);
    job.next = next?.getTime();
    if (job.next === undefined) return;
    this.#wait(job, job.next);
  }

  #wait(job: Job, at: number): void {
    const delay = Math.max(0, at - this.#clock.now()) + Math.floor(Math.random() * (this.#o.jitterMs ?? 0));
    job.cancel = this.#clock.setTimeout(() => {
      if (!this.#running || this.#jobs.get(job.s.name) !== job) return;
      if (this.#clock.now() < at) return this.#wait(job, at);
      void this.#emit(job);
      this.#arm(job);
    }, Math.min(delay, MAX_TIMER_MS));
  }

  #disarm(job: Job): void {
    job.cancel?.();
    job.cancel = undefined;
    job.next = undefined;
  }

  async #emit(job: Job, rethrow = false): Promise<AnyCloudEvent | undefined> {
    const now = this.#clock.now();
    const ev = pingEvent(job.s, this.#o.namespace, new Date(now));
    job.lastRun = now;
    job.lastEventId = ev.id;
    const attempts = Math.max(1, this.#o.emitAttempts ?? 3);
    for (let i = 1; i <= attempts; i++) {
      try {
        await this.#o.bus.emit(ev);
        this.#o.log.info("cron: ping emitted", { schedule: job.s.name, model: job.s.model, id: ev.id });
        return ev;
      } catch (e) {
        if (i === attempts) {
          this.#o.log.error("cron: ping not delivered; this tick is lost", { schedule: job.s.name, id: ev.id, ...errorFields(e) });
          if (rethrow) throw new UpstreamError("event bus unavailable; the schedule was not triggered", true, { cause: e });
          return undefined;
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** (i - 1)));
      }
    }
    return undefined;
  }
}
