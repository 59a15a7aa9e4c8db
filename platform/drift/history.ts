// Drift history in the StateStore: the monitor's scorings per model version, bounded, so the UI's chart outlives a restart.
import type { Logger } from "../log.ts";
import { errorFields } from "../log.ts";
import type { StateStore } from "../state/index.ts";

/** One scoring of a version: when, and each feature's score then. */
export interface DriftPoint {
  /** epoch ms */
  readonly at: number;
  readonly scores: Readonly<Record<string, number>>;
}

export interface DriftHistoryOptions {
  /** Points kept per model version; older ones are deleted as new ones arrive. Default 2000. */
  readonly maxPoints?: number | undefined;
  /** Points older than this are deleted, whatever their version. Default 7 days. */
  readonly maxAgeMs?: number | undefined;
  /**
   * At most one point per version per this interval (the monitor scores every second under traffic); a point that
   * crosses the threshold either way is always kept. Default 10 s: 2000 points then span at least 5.5 hours.
   */
  readonly minIntervalMs?: number | undefined;
  /** A score above this means drift (the monitor's threshold). Default 0.2. */
  readonly threshold?: number | undefined;
  readonly log?: Logger | undefined;
  readonly now?: (() => number) | undefined;
}

interface Last {
  readonly at: number;
  readonly drifted: boolean;
}

const isScores = (v: unknown): v is Record<string, number> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "number");

/**
 * Writes happen off the request path (the monitor scores on a timer), one at a time in arrival order, and never throw
 * into the caller: a failed write is logged and the chart misses that point.
 */
export class StateDriftHistory {
  readonly #state: StateStore;
  readonly #o: { maxPoints: number; maxAgeMs: number; minIntervalMs: number; threshold: number; log: Logger | undefined; now: () => number };
  readonly #last = new Map<string, Last>();
  #chain: Promise<void> = Promise.resolve();
  #lastAgeTrim = 0;

  constructor(state: StateStore, opts: DriftHistoryOptions = {}) {
    this.#state = state;
    this.#o = {
      maxPoints: opts.maxPoints ?? 2000,
      maxAgeMs: opts.maxAgeMs ?? 7 * 24 * 3_600_000,
      minIntervalMs: opts.minIntervalMs ?? 10_000,
      threshold: opts.threshold ?? 0.2,
      log: opts.log,
      now: opts.now ?? Date.now,
    };
  }

  /** Keep this scoring unless the version's last kept point is younger than minIntervalMs and on the same side. */
  record(model: string, version: string, point: DriftPoint): void {
    const k = `${model}\u0000${version}`;
    const drifted = Object.values(point.scores).some((s) => s > this.#o.threshold);
    const last = this.#last.get(k);
    if (last && point.at - last.at < this.#o.minIntervalMs && last.drifted === drifted) return;
    this.#last.set(k, { at: point.at, drifted });
    this.#chain = this.#chain.then(() => this.#write(model, version, point)).catch((e: unknown) => this.#o.log?.warn("drift: history point not stored", { model, version, ...errorFields(e) }));
  }

  /** Wait for every point recorded so far to be written (shutdown, tests). */
  flush(): Promise<void> {
    return this.#chain;
  }

  /** The version's points, oldest first (at most maxPoints). */
  async read(model: string, version: string): Promise<DriftPoint[]> {
    const rows = await this.#state.db
      .selectFrom("drift_history")
      .select(["at", "scores"])
      .where("model", "=", model)
      .where("version", "=", version)
      .orderBy("at", "desc")
      .limit(this.#o.maxPoints)
      .execute();
    const out: DriftPoint[] = [];
    for (const r of rows.reverse()) {
      const scores: unknown = JSON.parse(r.scores);
      if (isScores(scores)) out.push({ at: r.at, scores });
    }
    return out;
  }

  async #write(model: string, version: string, point: DriftPoint): Promise<void> {
    const now = this.#o.now();
    await this.#state.db.transaction().execute(async (trx) => {
      await trx
        .insertInto("drift_history")
        .values({ model, version, at: point.at, scores: JSON.stringify(point.scores) })
        .onConflict((oc) => oc.columns(["model", "version", "at"]).doNothing())
        .execute();
      // The version's oldest points beyond maxPoints (the subquery finds the newest one to drop; none when fewer).
      await trx
        .deleteFrom("drift_history")
        .where("model", "=", model)
        .where("version", "=", version)
        .where("at", "<=", (eb) =>
          eb.selectFrom("drift_history").select("at").where("model", "=", model).where("version", "=", version).orderBy("at", "desc").limit(1).offset(this.#o.maxPoints),
        )
        .execute();
      // Versions no longer served stop receiving points: the age limit removes them, checked once a minute.
      if (now - this.#lastAgeTrim >= 60_000) {
        this.#lastAgeTrim = now;
        await trx.deleteFrom("drift_history").where("at", "<", now - this.#o.maxAgeMs).execute();
      }
    });
  }
}
