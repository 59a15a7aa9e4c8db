// A manual clock for CronScheduler tests: time only moves when the test advances it, timers fire in order.
import type { Clock } from "../../../triggers/cron/scheduler.ts";

export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #seq = 0;
  constructor(start: string | number) {
    this.#now = typeof start === "string" ? Date.parse(start) : start;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): () => void {
    const id = ++this.#seq;
    this.#timers.push({ at: this.#now + ms, fn, id });
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    };
  }
  /** Move time forward, firing every timer that falls due on the way, in time order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = this.#timers[0];
      if (!t || t.at > end) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = end;
  }
  /** Jump without firing anything (the process was down or asleep). */
  jump(ms: number): void {
    this.#now += ms;
  }
  get pending(): number {
    return this.#timers.length;
  }
}
