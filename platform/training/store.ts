// Job records and their status history in SQLite (better-sqlite3), shared by the local and the Kubernetes backends.
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import * as z from "zod";
import { TrainingSpecSchema } from "../specs/training.ts";
import { TriggerRefSchema } from "../events/catalogue.ts";
import { JOB_STATES, type JobFilter, type JobRecord, type JobState, type JobTransition } from "../ports.ts";
import { privateFile } from "../private-files.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  record TEXT NOT NULL,
  traceparent TEXT,
  cause_event_id TEXT
);
CREATE INDEX IF NOT EXISTS jobs_list ON jobs(created_at DESC);
CREATE TABLE IF NOT EXISTS transitions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  state TEXT NOT NULL,
  at INTEGER NOT NULL,
  reason TEXT,
  message TEXT,
  log_tail TEXT,
  notified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS transitions_job ON transitions(job_id, seq);
CREATE INDEX IF NOT EXISTS transitions_pending ON transitions(notified, seq);
`;

/** The stored part of a record: everything but the history, validated on the way out (the file may be old). */
const StoredRecord = z.lazy(() =>
  z.object({
    id: z.string(),
    model: z.string(),
    kind: z.enum(["single", "ddp", "spark"]),
    backend: z.enum(["local", "kubernetes"]),
    state: z.enum(JOB_STATES),
    spec: TrainingSpecSchema,
    trigger: TriggerRefSchema,
    createdAt: z.number(),
    startedAt: z.number().optional(),
    finishedAt: z.number().optional(),
    exitCode: z.number().optional(),
    failedRank: z.number().optional(),
    failureReason: z.string().optional(),
    message: z.string().optional(),
    artifactUri: z.string().optional(),
    ranks: z.number(),
    object: z.object({ apiVersion: z.string(), kind: z.string(), name: z.string(), namespace: z.string() }).optional(),
  }),
);

const TransitionRow = z.lazy(() =>
  z.object({
    seq: z.number(),
    job_id: z.string(),
    state: z.enum(JOB_STATES),
    at: z.number(),
    reason: z.string().nullable(),
    message: z.string().nullable(),
    log_tail: z.string().nullable(),
  }),
);

/** A transition not yet handed to the listener (kept so a restart re-emits it with the same event id). */
export interface PendingNotice {
  readonly seq: number;
  readonly jobId: string;
  readonly transition: JobTransition;
  readonly logTail: string | undefined;
}

export type JobPatch = Partial<Omit<JobRecord, "id" | "history" | "spec" | "trigger" | "model" | "kind" | "backend" | "createdAt">>;

export class JobStore {
  readonly #db: Database.Database;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.#db = new Database(privateFile(file));
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("foreign_keys = ON");
    this.#db.exec(SCHEMA);
  }

  close(): void {
    this.#db.close();
  }

  /** Inserts the job with its first transition; false when the id exists already (idempotent launch). */
  insert(job: Omit<JobRecord, "history">, extra: { traceparent?: string | undefined; causeEventId: string }): boolean {
    const tx = this.#db.transaction(() => {
      const res = this.#db
        .prepare("INSERT OR IGNORE INTO jobs (id, model, state, created_at, record, traceparent, cause_event_id) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(job.id, job.model, job.state, job.createdAt, JSON.stringify(job), extra.traceparent ?? null, extra.causeEventId);
      if (res.changes === 0) return false;
      this.#db.prepare("INSERT INTO transitions (job_id, state, at) VALUES (?, ?, ?)").run(job.id, job.state, job.createdAt);
      return true;
    });
    return tx();
  }

  /** Applies a transition (and record fields) atomically. Refuses to leave a terminal state: the first ending wins. */
  transition(id: string, t: JobTransition, patch: JobPatch = {}, logTail?: string): JobRecord | undefined {
    const tx = this.#db.transaction((): JobRecord | undefined => {
      const cur = this.getRecord(id);
      if (!cur || isTerminalState(cur.state) || (cur.state === t.state && !t.reason)) return undefined;
      const next = { ...cur, ...patch, state: t.state };
      this.#db.prepare("UPDATE jobs SET state = ?, record = ? WHERE id = ?").run(t.state, JSON.stringify(next), id);
      this.#db
        .prepare("INSERT INTO transitions (job_id, state, at, reason, message, log_tail) VALUES (?, ?, ?, ?, ?, ?)")
        .run(id, t.state, t.at, t.reason ?? null, t.message ?? null, logTail ?? null);
      return this.get(id);
    });
    return tx();
  }

  /** Record fields that are not a state change (e.g. the Kubernetes object reference). */
  update(id: string, patch: JobPatch): void {
    const cur = this.getRecord(id);
    if (!cur) return;
    this.#db.prepare("UPDATE jobs SET record = ? WHERE id = ?").run(JSON.stringify({ ...cur, ...patch, state: cur.state }), id);
  }

  private getRecord(id: string): Omit<JobRecord, "history"> | undefined {
    const row = this.#db.prepare("SELECT record FROM jobs WHERE id = ?").get(id);
    return row ? parseRecord(row) : undefined;
  }

  get(id: string): JobRecord | undefined {
    const rec = this.getRecord(id);
    if (!rec) return undefined;
    const history = this.#db
      .prepare("SELECT seq, job_id, state, at, reason, message, log_tail FROM transitions WHERE job_id = ? ORDER BY seq")
      .all(id)
      .map((r) => toTransition(TransitionRow.parse(r)));
    return { ...rec, history };
  }

  traceparent(id: string): string | undefined {
    const row = z.object({ traceparent: z.string().nullable() }).optional().parse(this.#db.prepare("SELECT traceparent FROM jobs WHERE id = ?").get(id));
    return row?.traceparent ?? undefined;
  }

  list(filter: JobFilter = {}): JobRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.state) {
      where.push("state = ?");
      args.push(filter.state);
    }
    if (filter.model) {
      where.push("model = ?");
      args.push(filter.model);
    }
    const sql = `SELECT id FROM jobs ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`;
    args.push(Math.min(filter.limit ?? 50, 1000), filter.offset ?? 0);
    return this.#db
      .prepare(sql)
      .all(...args)
      .map((r) => z.object({ id: z.string() }).parse(r).id)
      .map((id) => this.get(id))
      .filter((j): j is JobRecord => j !== undefined);
  }

  /** Jobs in a non-terminal state (what a restart must reconcile). */
  active(): JobRecord[] {
    return this.#db
      .prepare("SELECT id FROM jobs WHERE state IN ('pending', 'running')")
      .all()
      .map((r) => this.get(z.object({ id: z.string() }).parse(r).id))
      .filter((j): j is JobRecord => j !== undefined);
  }

  pendingNotices(): PendingNotice[] {
    return this.#db
      .prepare("SELECT seq, job_id, state, at, reason, message, log_tail FROM transitions WHERE notified = 0 ORDER BY seq")
      .all()
      .map((r) => {
        const row = TransitionRow.parse(r);
        return { seq: row.seq, jobId: row.job_id, transition: toTransition(row), logTail: row.log_tail ?? undefined };
      });
  }

  markNotified(seq: number): void {
    this.#db.prepare("UPDATE transitions SET notified = 1 WHERE seq = ?").run(seq);
  }
}

function parseRecord(row: unknown): Omit<JobRecord, "history"> {
  const { record } = z.object({ record: z.string() }).parse(row);
  return StoredRecord.parse(JSON.parse(record));
}

function toTransition(row: z.output<typeof TransitionRow>): JobTransition {
  return { state: row.state, at: row.at, reason: row.reason ?? undefined, message: row.message ?? undefined };
}

const isTerminalState = (s: JobState): boolean => s === "succeeded" || s === "failed" || s === "cancelled";
