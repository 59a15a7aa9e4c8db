// SQLite store of dead-lettered events (with their knativeerror* extensions), for listing, replay and discard.
import Database from "better-sqlite3";
import { NotFoundError } from "../errors.ts";
import { eventToJson } from "./serialize.ts";
import { privateFile } from "../private-files.ts";
import { deadLettersSchema } from "../state/migrations.ts";
import { sqliteScript } from "../state/sqlite-ddl.ts";
import { clampInt, deadLetterId, toDeadLetter, type DeadLetter, type DeadLetterQuery, type DeadLetterRow, type DeadLetterState } from "./dead-letters.ts";
import type { AnyCloudEvent } from "../events/envelope.ts";
import { KNATIVE_ERROR_CODE, KNATIVE_ERROR_DATA, KNATIVE_ERROR_DEST } from "./delivery.ts";

// The record and its helpers moved to dead-letters.ts; still exported here for existing importers.
export * from "./dead-letters.ts";

// The table as the StateStore's migration 2 declares it: one definition for both stores.
const SCHEMA = sqliteScript(deadLettersSchema);

export class DeadLetterStore {
  readonly #db: Database.Database;

  /** Use an open database (the embedded broker shares its own) or open a file with WAL and synchronous=FULL. */
  constructor(db: Database.Database) {
    this.#db = db;
    this.#db.exec(SCHEMA);
  }

  static open(file: string): DeadLetterStore {
    const db = new Database(privateFile(file));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    return new DeadLetterStore(db);
  }

  /** Store a dead-lettered event. Idempotent: the same event for the same destination updates one row. */
  record(input: { event: AnyCloudEvent; trigger?: string | undefined; attempts?: number | undefined; at: number }): {
    deadLetter: DeadLetter;
    created: boolean;
  } {
    const ev = input.event;
    const json = eventToJson(ev);
    const dest = typeof json[KNATIVE_ERROR_DEST] === "string" ? String(json[KNATIVE_ERROR_DEST]) : "";
    const codeRaw = Number(json[KNATIVE_ERROR_CODE]);
    const code = Number.isInteger(codeRaw) ? codeRaw : null;
    const data = typeof json[KNATIVE_ERROR_DATA] === "string" ? String(json[KNATIVE_ERROR_DATA]) : "";
    const id = deadLetterId(ev.source, ev.id, dest);
    const created = this.#db.transaction((): boolean => {
      const existing = this.#db.prepare<[string], DeadLetterRow>("SELECT * FROM dead_letters WHERE id = ?").get(id);
      if (!existing) {
        this.#db
          .prepare(
            `INSERT INTO dead_letters (id, event_id, source, type, trigger, error_dest, error_code, error_data, attempts, state, count, first_at, last_at, event)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'dead', 1, ?, ?, ?)`,
          )
          .run(id, ev.id, ev.source, ev.type, input.trigger ?? null, dest, code, data, input.attempts ?? null, input.at, input.at, JSON.stringify(json));
        return true;
      }
      // Already waiting: a duplicate delivery of the same dead letter (delivery is at least once).
      if (existing.state === "dead") return false;
      // Replayed or discarded before, and dead-lettered again: it needs a decision again.
      this.#db
        .prepare(
          `UPDATE dead_letters SET state = 'dead', count = count + 1, last_at = ?, error_code = ?, error_data = ?, attempts = ?,
             trigger = COALESCE(?, trigger), event = ? WHERE id = ?`,
        )
        .run(input.at, code, data, input.attempts ?? null, input.trigger ?? null, JSON.stringify(json), id);
      return true;
    })();
    return { deadLetter: this.get(id), created };
  }

  get(id: string): DeadLetter {
    const row = this.#db.prepare<[string], DeadLetterRow>("SELECT * FROM dead_letters WHERE id = ?").get(id);
    if (!row) throw new NotFoundError(`dead letter ${id} not found`);
    return toDeadLetter(row);
  }

  list(q: DeadLetterQuery = {}): DeadLetter[] {
    const { where, args } = filterSql(q);
    const rows = this.#db
      .prepare<unknown[], DeadLetterRow>(`SELECT * FROM dead_letters ${where} ORDER BY last_at DESC, id LIMIT ? OFFSET ?`)
      .all(...args, clampInt(q.limit, 50, 1, 1000), clampInt(q.offset, 0, 0, Number.MAX_SAFE_INTEGER));
    return rows.map(toDeadLetter);
  }

  count(q: Omit<DeadLetterQuery, "limit" | "offset"> = {}): number {
    const { where, args } = filterSql(q);
    const row = this.#db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM dead_letters ${where}`).get(...args);
    return row?.n ?? 0;
  }

  /** Mark as replayed. Returns false when it was not waiting (already replayed or discarded). */
  markReplayed(id: string, at: number): boolean {
    return this.#setState(id, "replayed", at);
  }

  /** Discard: kept for the record, hidden from the default listing. Returns false when it was not waiting. */
  discard(id: string, at: number): boolean {
    return this.#setState(id, "discarded", at);
  }

  #setState(id: string, state: DeadLetterState, at: number): boolean {
    this.get(id);
    const res = this.#db.prepare("UPDATE dead_letters SET state = ?, last_at = ? WHERE id = ? AND state = 'dead'").run(state, at, id);
    return res.changes > 0;
  }
}

function filterSql(q: Omit<DeadLetterQuery, "limit" | "offset">): { where: string; args: unknown[] } {
  const clauses = ["state = ?"];
  const args: unknown[] = [q.state ?? "dead"];
  if (q.type) {
    clauses.push("type = ?");
    args.push(q.type);
  }
  return { where: `WHERE ${clauses.join(" AND ")}`, args };
}
