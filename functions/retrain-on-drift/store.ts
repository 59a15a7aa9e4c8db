// retrain-on-drift's state: decisions by causing event (idempotency) and the trainings it requested (guards).
import type { StateStore, StateTx } from "../../platform/state/index.ts";
import { TRAINING_REASONS, type TrainingReason } from "../../platform/specs/training.ts";

export interface TrainingRecord {
  /** id of the training.requested event we emitted. */
  readonly trainingEventId: string;
  readonly model: string;
  readonly reason: TrainingReason;
  /** id of the event that caused it (alert, ping, Kafka record): the job's trigger.eventId. */
  readonly causeEventId: string;
  /** epoch ms */
  readonly requestedAt: number;
  /** A request with no outcome after this long no longer counts as in flight (lost terminal event). */
  readonly staleAt: number;
  readonly finishedAt?: number | undefined;
  readonly outcome?: "succeeded" | "failed" | "cancelled" | undefined;
}

export interface DecisionRecord {
  /** Key: the causing event (source + id). */
  readonly causeKey: string;
  readonly model: string;
  readonly decision: "started" | "skipped";
  readonly reason: string;
  readonly at: number;
  /** The events this decision emits, kept so a redelivery re-sends exactly them. */
  readonly events: readonly Record<string, unknown>[];
  readonly emitted: boolean;
}

/** What a decision function proposes, given the model's recent trainings. */
export interface Proposal {
  readonly decision: DecisionRecord;
  readonly training?: TrainingRecord | undefined;
}

export interface Decided {
  readonly record: DecisionRecord;
  /** false: this cause was decided before (by this or another replica) and `record` is that earlier decision. */
  readonly fresh: boolean;
}

/**
 * Decisions are made by `decide`: one transaction holding the model's lock reads the cause's earlier decision and the
 * model's trainings, then records the proposal. N replicas handling alerts for one model therefore decide in turn,
 * and a process killed mid-decision leaves either the whole decision or nothing.
 */
export interface RetrainStore {
  getDecision(causeKey: string): Promise<DecisionRecord | undefined>;
  decide(model: string, causeKey: string, since: number, propose: (trainings: readonly TrainingRecord[]) => Proposal): Promise<Decided>;
  markEmitted(causeKey: string): Promise<void>;
  /** Trainings of a model requested at or after `since` (epoch ms), or still unfinished. */
  trainings(model: string, since: number): Promise<TrainingRecord[]>;
  /** Mark the training caused by `causeEventId` finished; false when we never requested it. */
  finishTraining(model: string, causeEventId: string, outcome: NonNullable<TrainingRecord["outcome"]>, at: number): Promise<boolean>;
  /** The latest decisions, newest first (the UI's retrain page). */
  recentDecisions(limit: number): Promise<DecisionRecord[]>;
  close(): Promise<void>;
}

export class MemoryRetrainStore implements RetrainStore {
  readonly #decisions = new Map<string, DecisionRecord>();
  readonly #trainings: TrainingRecord[] = [];
  async getDecision(k: string): Promise<DecisionRecord | undefined> {
    return this.#decisions.get(k);
  }
  // No await inside: in one process, the whole decision happens in one tick.
  async decide(model: string, k: string, since: number, propose: (t: readonly TrainingRecord[]) => Proposal): Promise<Decided> {
    const prior = this.#decisions.get(k);
    if (prior) return { record: prior, fresh: false };
    const p = propose(this.#recent(model, since));
    this.#decisions.set(k, p.decision);
    if (p.training) this.#trainings.push(p.training);
    return { record: p.decision, fresh: true };
  }
  async markEmitted(k: string): Promise<void> {
    const d = this.#decisions.get(k);
    if (d) this.#decisions.set(k, { ...d, emitted: true });
  }
  async trainings(model: string, since: number): Promise<TrainingRecord[]> {
    return this.#recent(model, since);
  }
  #recent(model: string, since: number): TrainingRecord[] {
    return this.#trainings.filter((t) => t.model === model && (t.requestedAt >= since || t.finishedAt === undefined));
  }
  async finishTraining(model: string, cause: string, outcome: NonNullable<TrainingRecord["outcome"]>, at: number): Promise<boolean> {
    const i = this.#trainings.findIndex((t) => t.model === model && t.causeEventId === cause);
    const t = this.#trainings[i];
    if (!t) return false;
    if (t.finishedAt === undefined) this.#trainings[i] = { ...t, finishedAt: at, outcome };
    return true;
  }
  async recentDecisions(limit: number): Promise<DecisionRecord[]> {
    return [...this.#decisions.values()].sort((a, b) => b.at - a.at).slice(0, limit);
  }
  async close(): Promise<void> {}
}

/** On the shared StateStore: SQLite embedded, PostgreSQL in Knative (many replicas). */
export class StateRetrainStore implements RetrainStore {
  readonly #state: StateStore;
  /** Whether close() also closes the StateStore (true when this store opened it). */
  readonly #owns: boolean;
  constructor(state: StateStore, opts: { readonly owns?: boolean } = {}) {
    this.#state = state;
    this.#owns = opts.owns ?? false;
  }

  async getDecision(k: string): Promise<DecisionRecord | undefined> {
    const row = await this.#state.db.selectFrom("retrain_decisions").selectAll().where("cause_key", "=", storedKey(k)).executeTakeFirst();
    return row ? toDecision(row) : undefined;
  }

  decide(model: string, k: string, since: number, propose: (t: readonly TrainingRecord[]) => Proposal): Promise<Decided> {
    return this.#state.withLock(`retrain:${model}`, async (trx) => {
      const prior = await trx.selectFrom("retrain_decisions").selectAll().where("cause_key", "=", storedKey(k)).executeTakeFirst();
      if (prior) return { record: toDecision(prior), fresh: false };
      const p = propose(await recentTrainings(trx, model, since));
      const d = p.decision;
      await trx
        .insertInto("retrain_decisions")
        .values({ cause_key: storedKey(d.causeKey), model: d.model, decision: d.decision, reason: d.reason, at: d.at, events: JSON.stringify(d.events), emitted: d.emitted ? 1 : 0 })
        .execute();
      if (p.training) {
        const t = p.training;
        await trx
          .insertInto("retrain_trainings")
          .values({ training_event_id: t.trainingEventId, model: t.model, reason: t.reason, cause_event_id: t.causeEventId, requested_at: t.requestedAt, stale_at: t.staleAt, finished_at: null, outcome: null })
          .onConflict((oc) => oc.column("training_event_id").doNothing())
          .execute();
      }
      return { record: d, fresh: true };
    });
  }

  async markEmitted(k: string): Promise<void> {
    await this.#state.db.updateTable("retrain_decisions").set({ emitted: 1 }).where("cause_key", "=", storedKey(k)).execute();
  }

  async trainings(model: string, since: number): Promise<TrainingRecord[]> {
    return recentTrainings(this.#state.db, model, since);
  }

  async finishTraining(model: string, cause: string, outcome: NonNullable<TrainingRecord["outcome"]>, at: number): Promise<boolean> {
    const db = this.#state.db;
    const found = await db.selectFrom("retrain_trainings").select("training_event_id").where("model", "=", model).where("cause_event_id", "=", cause).executeTakeFirst();
    if (!found) return false;
    // The first outcome wins: a redelivered or late second outcome changes nothing.
    await db
      .updateTable("retrain_trainings")
      .set({ finished_at: at, outcome })
      .where("model", "=", model)
      .where("cause_event_id", "=", cause)
      .where("finished_at", "is", null)
      .execute();
    return true;
  }

  async recentDecisions(limit: number): Promise<DecisionRecord[]> {
    const rows = await this.#state.db.selectFrom("retrain_decisions").selectAll().orderBy("at", "desc").orderBy("cause_key").limit(limit).execute();
    return rows.map(toDecision);
  }

  async close(): Promise<void> {
    if (this.#owns) await this.#state.close();
  }
}

type Reader = StateStore["db"] | StateTx;

/**
 * Cause keys join source and id with NUL (no CloudEvents attribute can hold it), which PostgreSQL's text refuses:
 * stored with NUL as `\0` and backslash doubled, a reversible escape, the same in both dialects.
 */
const storedKey = (k: string): string => k.replaceAll("\\", "\\\\").replaceAll("\u0000", "\\0");
const loadedKey = (k: string): string => k.replace(/\\(\\|0)/g, (_m, c: string) => (c === "0" ? "\u0000" : "\\"));

async function recentTrainings(db: Reader, model: string, since: number): Promise<TrainingRecord[]> {
  const rows = await db
    .selectFrom("retrain_trainings")
    .selectAll()
    .where("model", "=", model)
    .where((eb) => eb.or([eb("requested_at", ">=", since), eb("finished_at", "is", null)]))
    .execute();
  return rows.map((r) => ({
    trainingEventId: r.training_event_id,
    model: r.model,
    reason: isReason(r.reason) ? r.reason : "drift",
    causeEventId: r.cause_event_id,
    requestedAt: r.requested_at,
    staleAt: r.stale_at,
    finishedAt: r.finished_at ?? undefined,
    outcome: r.outcome ?? undefined,
  }));
}

const isReason = (v: string): v is TrainingReason => TRAINING_REASONS.some((r) => r === v);

function toDecision(row: { cause_key: string; model: string; decision: "started" | "skipped"; reason: string; at: number; events: string; emitted: number }): DecisionRecord {
  return {
    causeKey: loadedKey(row.cause_key),
    model: row.model,
    decision: row.decision,
    reason: row.reason,
    at: row.at,
    events: parseEvents(row.events),
    emitted: row.emitted === 1,
  };
}

function parseEvents(text: string): Record<string, unknown>[] {
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null) : [];
}
