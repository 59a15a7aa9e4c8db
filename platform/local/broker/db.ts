// The broker's SQLite state: accepted events and one delivery row per (event, trigger), durable across kill -9.
import type Database from "better-sqlite3";
import { Checkpointer } from "./checkpoint.ts";
import { WalSync } from "./wal-sync.ts";
import { aboutField, asObject, parseDelivery, parseTarget, type Claimed, type DeliveryRow, type EventRow, type NewDelivery, type NewEvent } from "./schema.ts";
import type { DeliveryState } from "./types.ts";

export { openDatabase, parseTarget, toDeliveryInfo } from "./schema.ts";
export type { Claimed, DeliveryRow, EventRow, NewDelivery, NewEvent } from "./schema.ts";

/** JSON of a trigger's target and delivery spec: the same (immutable) objects for every event the trigger matches. */
const jsonCache = new WeakMap<object, string>();
function jsonOf(o: object): string {
  let json = jsonCache.get(o);
  if (json === undefined) {
    json = JSON.stringify(o);
    jsonCache.set(o, json);
  }
  return json;
}

/** Prepared statements over one connection. better-sqlite3 is synchronous, so each call is atomic in this process. */
export class BrokerDb {
  readonly db: Database.Database;
  readonly #insertEvent;
  readonly #insertDelivery;
  readonly #insertClaimed;
  readonly #due;
  readonly #markInflight;
  readonly #nextDue;
  readonly #unfinished;
  readonly #eventBySeq;
  readonly #setState;
  /** The WAL's fsync off the event loop (a file database); undefined: ingest commits are FULL (fsync inside). */
  readonly #walSync: WalSync | undefined;

  constructor(db: Database.Database) {
    this.db = db;
    this.#walSync = db.memory || !db.name || db.name === ":memory:" || db.pragma("journal_mode", { simple: true }) !== "wal" ? undefined : new WalSync(db.name);
    this.#insertEvent = db.prepare(
      "INSERT OR IGNORE INTO events (source, id, type, subject, received_at, event) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#insertDelivery = db.prepare(
      // A second dead-lettering of the same event (after a replay) re-arms its deadLetterSink delivery.
      `INSERT INTO deliveries (event_seq, trigger, kind, target, delivery, extensions, state, attempts, next_attempt_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
       ON CONFLICT (event_seq, trigger, kind) DO UPDATE SET target = excluded.target, delivery = excluded.delivery,
         extensions = excluded.extensions, state = 'pending', attempts = 0, next_attempt_at = excluded.next_attempt_at,
         last_status = NULL, last_error = NULL, updated_at = excluded.updated_at`,
    );
    // A new event's delivery claimed at insert (dispatched right after the commit): in flight, attempt 1.
    this.#insertClaimed = db.prepare(
      `INSERT INTO deliveries (event_seq, trigger, kind, target, delivery, extensions, state, attempts, next_attempt_at, updated_at)
       VALUES (?, ?, ?, ?, ?, NULL, 'inflight', 1, ?, ?)`,
    );
    this.#due = db.prepare<[number, number], DeliveryRow>(
      "SELECT * FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, seq LIMIT ?",
    );
    this.#markInflight = db.prepare("UPDATE deliveries SET state = 'inflight', attempts = attempts + 1, updated_at = ? WHERE seq = ?");
    this.#nextDue = db.prepare<[], { at: number | null }>("SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE state = 'pending'");
    this.#unfinished = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE state IN ('pending', 'inflight')");
    this.#eventBySeq = db.prepare<[number], EventRow>("SELECT * FROM events WHERE seq = ?");
    // Every attempt's outcome goes through it: prepared once (preparing costs more than running it).
    this.#setState = db.prepare<[DeliveryState, number | null, string | null, number | null, number, number]>(
      "UPDATE deliveries SET state = ?, last_status = ?, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ? WHERE seq = ?",
    );
  }

  /** Set once an fsync of the WAL failed: nothing can be acknowledged as durable until a restart. */
  storageFailed(): Error | undefined {
    return this.#walSync?.failed;
  }

  /**
   * Store events and their deliveries in one transaction. Up to `claim` new deliveries are stored already in flight
   * (attempt 1, as claimDue would mark them) and returned, so they can be sent right after the commit instead of
   * waiting for the next claim. Per event, the new seq, or undefined when (source, id) was already stored.
   * `durable` resolves once the commit is on disk: the fsync that SQLite's FULL commit would make, run on the
   * thread pool (or, without a WAL file, the FULL commit itself). It also covers a duplicate's first, earlier commit.
   */
  insertEvents(
    items: readonly { event: NewEvent; deliveries: readonly NewDelivery[] }[],
    now: number,
    claim = 0,
  ): { seqs: (number | undefined)[]; claimed: Claimed[]; durable: Promise<void> } {
    const claimed: Claimed[] = [];
    this.#checkpointer?.touch();
    const insert = this.db.transaction((): (number | undefined)[] =>
      items.map(({ event: ev, deliveries }) => {
        const res = this.#insertEvent.run(ev.source, ev.id, ev.type, ev.subject ?? null, now, ev.json);
        if (res.changes === 0) return undefined;
        const seq = Number(res.lastInsertRowid);
        for (const d of deliveries) {
          if (claimed.length >= claim || d.extensions) {
            this.addDelivery(seq, d, now);
            continue;
          }
          const r = this.#insertClaimed.run(seq, d.trigger, d.kind, jsonOf(d.target), jsonOf(d.delivery), now, now);
          const event = asObject(ev.json) ?? {};
          claimed.push({ seq: Number(r.lastInsertRowid), eventSeq: seq, trigger: d.trigger, kind: d.kind, target: d.target, delivery: d.delivery, extensions: undefined, attempt: 1, event });
        }
        return seq;
      }),
    );
    if (!this.#walSync) return { seqs: insert(), claimed, durable: Promise.resolve() };
    const seqs = this.relaxed(() => insert());
    return { seqs, claimed, durable: this.#walSync.sync() };
  }

  #checkpointer: Checkpointer | undefined;

  /** Move WAL checkpoints to a worker thread (a file database only). */
  startCheckpoints(onError: (message: string) => void): void {
    if (this.#checkpointer || this.db.memory || !this.db.name || this.db.name === ":memory:") return;
    this.#checkpointer = new Checkpointer(this.db, { onError });
  }

  /** Checkpoint now, off the event loop (tests); undefined without a checkpoint worker. */
  checkpoint(): ReturnType<Checkpointer["checkpoint"]> | undefined {
    return this.#checkpointer?.checkpoint();
  }

  /** Finish the syncs asked for, stop the checkpoint worker, then close the database (SQLite checkpoints the WAL into
   * the file and syncs it). */
  async close(): Promise<void> {
    await this.#walSync?.close();
    await this.#checkpointer?.stop();
    this.#checkpointer = undefined;
    this.db.close();
  }

  /**
   * Run bookkeeping (claims, outcomes) without an fsync: it survives kill -9 (the WAL is in the OS page cache) and
   * the next FULL commit flushes it. Losing it to a power cut only means an attempt is made again.
   */
  relaxed<T>(fn: () => T): T {
    this.#checkpointer?.touch();
    // exec, not db.pragma() (a Statement object per call, 6x slower) nor a prepared statement (SQLite applies this
    // pragma when it compiles the statement, so running a prepared one again does nothing).
    this.db.exec("PRAGMA synchronous = NORMAL");
    try {
      return fn();
    } finally {
      this.db.exec("PRAGMA synchronous = FULL");
    }
  }

  addDelivery(eventSeq: number, d: NewDelivery, now: number): void {
    this.#insertDelivery.run(
      eventSeq,
      d.trigger,
      d.kind,
      JSON.stringify(d.target),
      JSON.stringify(d.delivery),
      d.extensions ? JSON.stringify(d.extensions) : null,
      now,
      now,
    );
  }

  /** Claim up to `limit` due deliveries: mark them in flight and count the attempt (so a crash mid-attempt counts). */
  claimDue(now: number, limit: number): Claimed[] {
    return this.db.transaction((): Claimed[] => {
      const rows = this.#due.all(now, limit);
      const out: Claimed[] = [];
      for (const r of rows) {
        try {
          const ev = this.#eventBySeq.get(r.event_seq);
          if (!ev) throw new Error("its event is gone");
          const ext = asObject(r.extensions);
          out.push({
            seq: r.seq,
            eventSeq: r.event_seq,
            trigger: r.trigger,
            kind: r.kind === "dead_letter_sink" ? "dead_letter_sink" : "subscriber",
            target: parseTarget(r.target),
            delivery: parseDelivery(r.delivery),
            extensions: ext ? Object.fromEntries(Object.entries(ext).map(([k, v]) => [k, typeof v === "number" ? v : String(v)])) : undefined,
            attempt: r.attempts + 1,
            event: asObject(ev.event) ?? {},
          });
          this.#markInflight.run(now, r.seq);
        } catch (e) {
          // An unreadable row must not block the queue: park it as failed, with the reason, for an operator.
          this.setState(r.seq, "failed", now, { error: `unreadable delivery row: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
      return out;
    })();
  }

  /** After a restart nothing is in flight: attempts that were running when the process died become due again. */
  recoverInflight(now: number): number {
    // next_attempt_at stays: they were due when claimed, so they go first, in their original order.
    return this.db.prepare("UPDATE deliveries SET state = 'pending', updated_at = ? WHERE state = 'inflight'").run(now).changes;
  }

  nextDueAt(): number | undefined {
    return this.#nextDue.get()?.at ?? undefined;
  }

  unfinished(): number {
    return this.#unfinished.get()?.n ?? 0;
  }

  eventByKey(source: string, id: string): EventRow | undefined {
    return this.db.prepare<[string, string], EventRow>("SELECT * FROM events WHERE source = ? AND id = ?").get(source, id);
  }

  /** Put dead-lettered deliveries back in the queue, from attempt 1. */
  rearm(deliverySeqs: readonly number[], now: number): void {
    const stmt = this.db.prepare(
      "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, last_status = NULL, last_error = NULL, updated_at = ? WHERE seq = ?",
    );
    for (const seq of deliverySeqs) stmt.run(now, now, seq);
  }

  setState(seq: number, state: DeliveryState, now: number, fields: { status?: number | undefined; error?: string | undefined; nextAt?: number }): void {
    this.#setState.run(state, fields.status ?? null, fields.error ?? null, fields.nextAt ?? null, now, seq);
  }

  recentEvents(q: { limit: number; offset: number; type: string | undefined }): EventRow[] {
    if (q.type) {
      return this.db
        .prepare<[string, number, number], EventRow>("SELECT * FROM events WHERE type = ? ORDER BY seq DESC LIMIT ? OFFSET ?")
        .all(q.type, q.limit, q.offset);
    }
    return this.db.prepare<[number, number], EventRow>("SELECT * FROM events ORDER BY seq DESC LIMIT ? OFFSET ?").all(q.limit, q.offset);
  }

  /** A version's lineage events (EventsAboutQuery); each OR branch is an expression index of the events table. */
  eventsAbout(q: { model: string; version: string; jobId: string | undefined; deployments: readonly string[]; limit: number }): EventRow[] {
    const field = aboutField;
    const terms = [`(${field("model")} = ? AND ${field("version")} = ?)`];
    const params: (string | number)[] = [q.model, q.version];
    if (q.jobId) {
      terms.push(`${field("jobId")} = ?`);
      params.push(q.jobId);
    }
    if (q.deployments.length) {
      terms.push(`(${field("name")} IN (${q.deployments.map(() => "?").join(",")}) AND (${field("version")} IS NULL OR ${field("version")} = ?))`);
      params.push(...q.deployments, q.version);
    }
    return this.db.prepare<(string | number)[], EventRow>(`SELECT * FROM events WHERE ${terms.join(" OR ")} ORDER BY seq DESC LIMIT ?`).all(...params, q.limit);
  }

  eventsById(id: string): EventRow[] {
    return this.db.prepare<[string], EventRow>("SELECT * FROM events WHERE id = ? ORDER BY seq DESC").all(id);
  }

  deliveriesOf(eventSeqs: readonly number[]): DeliveryRow[] {
    if (eventSeqs.length === 0) return [];
    return this.db
      .prepare<number[], DeliveryRow>(`SELECT * FROM deliveries WHERE event_seq IN (${eventSeqs.map(() => "?").join(",")}) ORDER BY seq`)
      .all(...eventSeqs);
  }

  /** Delete events older than `before` whose deliveries are all finished (their delivery rows cascade). */
  prune(before: number): number {
    return this.db
      .prepare(
        `DELETE FROM events WHERE received_at < ? AND NOT EXISTS (
           SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.state IN ('pending', 'inflight'))`,
      )
      .run(before).changes;
  }
}
