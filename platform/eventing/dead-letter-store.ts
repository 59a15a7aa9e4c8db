// SQLite store of dead-lettered events (with their knativeerror* extensions), for listing, replay and discard.
import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import { NotFoundError } from "../errors.ts";
import { fromStructured, type AnyCloudEvent } from "../events/envelope.ts";
import { decodeErrorData, KNATIVE_ERROR_CODE, KNATIVE_ERROR_DATA, KNATIVE_ERROR_DEST } from "./delivery.ts";
import { eventToJson } from "./serialize.ts";
import { privateFile } from "../private-files.ts";
import { deadLettersSchema } from "../state/migrations.ts";
import type { DeadLettersTable } from "../state/schema.ts";
import { sqliteScript } from "../state/sqlite-ddl.ts";

export const DEAD_LETTER_STATES = ["dead", "replayed", "discarded"] as const;
export type DeadLetterState = (typeof DEAD_LETTER_STATES)[number];
export const isDeadLetterState = (v: unknown): v is DeadLetterState => DEAD_LETTER_STATES.some((s) => s === v);

export interface DeadLetter {
  /** Stable: derived from (source, event id, knativeerrordest), so a redelivered dead letter is stored once. */
  readonly id: string;
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  /** The trigger whose delivery failed, when the embedded broker knows it. */
  readonly trigger: string | undefined;
  readonly errorDest: string;
  readonly errorCode: number | undefined;
  /** Base64 of the subscriber's response body, truncated (as Knative sends it). */
  readonly errorData: string;
  /** errorData decoded: why the subscriber refused it (its error message, or its body's text). */
  readonly reason: string;
  readonly attempts: number | undefined;
  readonly state: DeadLetterState;
  /** How many times this event was dead-lettered for this destination (a replay can fail again). */
  readonly count: number;
  /** epoch ms */
  readonly firstAt: number;
  readonly lastAt: number;
  /** The event as dead-lettered (structured JSON, knativeerror* extensions included). */
  readonly event: Record<string, unknown>;
}

export interface DeadLetterQuery {
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
  /** Default "dead": the ones waiting for a decision. */
  readonly state?: DeadLetterState | undefined;
  readonly type?: string | undefined;
}

/** A stored dead letter as a row, in either store (the broker's SQLite here, the StateStore's `dead_letters` table). */
export type DeadLetterRow = DeadLettersTable;

// The table as the StateStore's migration 2 declares it: one definition for both stores.
const SCHEMA = sqliteScript(deadLettersSchema);

export function deadLetterId(source: string, eventId: string, dest: string): string {
  return createHash("sha256").update(`${source}\u0000${eventId}\u0000${dest}`).digest("hex").slice(0, 24);
}

/** The original event: the dead-lettered one without the knativeerror* extensions. */
export function originalEvent(dl: DeadLetter): AnyCloudEvent {
  const { [KNATIVE_ERROR_DEST]: _d, [KNATIVE_ERROR_CODE]: _c, [KNATIVE_ERROR_DATA]: _x, ...rest } = dl.event;
  return fromStructured(rest);
}

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

export function clampInt(v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(max, Math.max(min, Math.trunc(v)));
}

export function toDeadLetter(r: DeadLetterRow): DeadLetter {
  const event: unknown = JSON.parse(r.event);
  return {
    id: r.id,
    eventId: r.event_id,
    source: r.source,
    type: r.type,
    trigger: r.trigger ?? undefined,
    errorDest: r.error_dest,
    errorCode: r.error_code ?? undefined,
    errorData: r.error_data,
    reason: decodeErrorData(r.error_data),
    attempts: r.attempts ?? undefined,
    state: isDeadLetterState(r.state) ? r.state : "dead",
    count: r.count,
    firstAt: r.first_at,
    lastAt: r.last_at,
    event: typeof event === "object" && event !== null && !Array.isArray(event) ? Object.fromEntries(Object.entries(event)) : {},
  };
}
