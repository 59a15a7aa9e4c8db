// retrain-on-drift's state: decisions by causing event (idempotency) and the trainings it requested (guards).
import Database from "better-sqlite3";
import type { TrainingReason } from "../../platform/specs/training.ts";
import { privateFile } from "../../platform/private-files.ts";

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

/**
 * Synchronous on purpose: the handler checks the guards and records its decision in one tick, so two alerts handled
 * concurrently in this process can never both pass the in-flight guard.
 */
export interface RetrainStore {
  getDecision(causeKey: string): DecisionRecord | undefined;
  /** Record a decision and, when it started one, the training, atomically. */
  recordDecision(decision: DecisionRecord, training?: TrainingRecord): void;
  markEmitted(causeKey: string): void;
  /** Trainings of a model requested at or after `since` (epoch ms), or still unfinished. */
  trainings(model: string, since: number): TrainingRecord[];
  /** Mark the training caused by `causeEventId` finished; false when we never requested it. */
  finishTraining(model: string, causeEventId: string, outcome: NonNullable<TrainingRecord["outcome"]>, at: number): boolean;
  close(): void;
}

export class MemoryRetrainStore implements RetrainStore {
  readonly #decisions = new Map<string, DecisionRecord>();
  readonly #trainings: TrainingRecord[] = [];
  getDecision(k: string): DecisionRecord | undefined {
    return this.#decisions.get(k);
  }
  recordDecision(d: DecisionRecord, t?: TrainingRecord): void {
    // First decision wins, as with SQLite's INSERT OR IGNORE.
    if (!this.#decisions.has(d.causeKey)) this.#decisions.set(d.causeKey, d);
    if (t && !this.#trainings.some((x) => x.trainingEventId === t.trainingEventId)) this.#trainings.push(t);
  }
  markEmitted(k: string): void {
    const d = this.#decisions.get(k);
    if (d) this.#decisions.set(k, { ...d, emitted: true });
  }
  trainings(model: string, since: number): TrainingRecord[] {
    return this.#trainings.filter((t) => t.model === model && (t.requestedAt >= since || t.finishedAt === undefined));
  }
  finishTraining(model: string, cause: string, outcome: NonNullable<TrainingRecord["outcome"]>, at: number): boolean {
    const i = this.#trainings.findIndex((t) => t.model === model && t.causeEventId === cause);
    const t = this.#trainings[i];
    if (!t) return false;
    if (t.finishedAt === undefined) this.#trainings[i] = { ...t, finishedAt: at, outcome };
    return true;
  }
  close(): void {}
}

interface TrainingRow {
  training_event_id: string;
  model: string;
  reason: TrainingReason;
  cause_event_id: string;
  requested_at: number;
  stale_at: number;
  finished_at: number | null;
  outcome: TrainingRecord["outcome"] | null;
}
interface DecisionRow {
  cause_key: string;
  model: string;
  decision: "started" | "skipped";
  reason: string;
  at: number;
  events: string;
  emitted: number;
}

export class SqliteRetrainStore implements RetrainStore {
  readonly #db: Database.Database;
  constructor(file: string) {
    this.#db = new Database(privateFile(file));
    this.#db.pragma("journal_mode = WAL");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS retrain_decisions (
        cause_key TEXT PRIMARY KEY, model TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL,
        at INTEGER NOT NULL, events TEXT NOT NULL, emitted INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS retrain_trainings (
        training_event_id TEXT PRIMARY KEY, model TEXT NOT NULL, reason TEXT NOT NULL, cause_event_id TEXT NOT NULL,
        requested_at INTEGER NOT NULL, stale_at INTEGER NOT NULL, finished_at INTEGER, outcome TEXT);
      CREATE INDEX IF NOT EXISTS retrain_trainings_model ON retrain_trainings (model, requested_at);
    `);
  }

  getDecision(k: string): DecisionRecord | undefined {
    const row = this.#db.prepare<[string], DecisionRow>("SELECT * FROM retrain_decisions WHERE cause_key = ?").get(k);
    if (!row) return undefined;
    return {
      causeKey: row.cause_key,
      model: row.model,
      decision: row.decision,
      reason: row.reason,
      at: row.at,
      events: parseEvents(row.events),
      emitted: row.emitted === 1,
    };
  }

  recordDecision(d: DecisionRecord, t?: TrainingRecord): void {
    this.#db.transaction(() => {
      this.#db
        .prepare("INSERT OR IGNORE INTO retrain_decisions (cause_key, model, decision, reason, at, events, emitted) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(d.causeKey, d.model, d.decision, d.reason, d.at, JSON.stringify(d.events), d.emitted ? 1 : 0);
      if (t) {
        this.#db
          .prepare(
            "INSERT OR IGNORE INTO retrain_trainings (training_event_id, model, reason, cause_event_id, requested_at, stale_at) VALUES (?, ?, ?, ?, ?, ?)",
          )
          .run(t.trainingEventId, t.model, t.reason, t.causeEventId, t.requestedAt, t.staleAt);
      }
    })();
  }

  markEmitted(k: string): void {
    this.#db.prepare("UPDATE retrain_decisions SET emitted = 1 WHERE cause_key = ?").run(k);
  }

  trainings(model: string, since: number): TrainingRecord[] {
    return this.#db
      .prepare<[string, number], TrainingRow>("SELECT * FROM retrain_trainings WHERE model = ? AND (requested_at >= ? OR finished_at IS NULL)")
      .all(model, since)
      .map((r) => ({
        trainingEventId: r.training_event_id,
        model: r.model,
        reason: r.reason,
        causeEventId: r.cause_event_id,
        requestedAt: r.requested_at,
        staleAt: r.stale_at,
        finishedAt: r.finished_at ?? undefined,
        outcome: r.outcome ?? undefined,
      }));
  }

  finishTraining(model: string, cause: string, outcome: NonNullable<TrainingRecord["outcome"]>, at: number): boolean {
    const found = this.#db.prepare("SELECT 1 FROM retrain_trainings WHERE model = ? AND cause_event_id = ?").get(model, cause);
    if (!found) return false;
    this.#db
      .prepare("UPDATE retrain_trainings SET finished_at = ?, outcome = ? WHERE model = ? AND cause_event_id = ? AND finished_at IS NULL")
      .run(at, outcome, model, cause);
    return true;
  }

  close(): void {
    this.#db.close();
  }
}

function parseEvents(text: string): Record<string, unknown>[] {
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null) : [];
}
