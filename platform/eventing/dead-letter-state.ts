// Dead letters on the shared StateStore (Knative mode): every dead-letter replica writes, every UI replica reads.
import { NotFoundError } from "../errors.ts";
import type { AnyCloudEvent } from "../events/envelope.ts";
import type { StateStore } from "../state/index.ts";
import type { DeadLettersTable } from "../state/schema.ts";
import { KNATIVE_ERROR_CODE, KNATIVE_ERROR_DATA, KNATIVE_ERROR_DEST } from "./delivery.ts";
import { clampInt, deadLetterId, toDeadLetter, type DeadLetter, type DeadLetterQuery, type DeadLetterState } from "./dead-letters.ts";
import { eventToJson } from "./serialize.ts";

/** The same semantics as the embedded broker's SQLite DeadLetterStore, asynchronous and safe for many replicas. */
export class StateDeadLetters {
  readonly #state: StateStore;
  constructor(state: StateStore) {
    this.#state = state;
  }

  /** Idempotent on (source, id, knativeerrordest), decided under that dead letter's lock. */
  record(input: { event: AnyCloudEvent; trigger?: string | undefined; attempts?: number | undefined; at: number }): Promise<{ deadLetter: DeadLetter; created: boolean }> {
    const ev = input.event;
    const json = eventToJson(ev);
    const dest = typeof json[KNATIVE_ERROR_DEST] === "string" ? String(json[KNATIVE_ERROR_DEST]) : "";
    const codeRaw = Number(json[KNATIVE_ERROR_CODE]);
    const code = Number.isInteger(codeRaw) ? codeRaw : null;
    const data = typeof json[KNATIVE_ERROR_DATA] === "string" ? String(json[KNATIVE_ERROR_DATA]) : "";
    const id = deadLetterId(ev.source, ev.id, dest);
    return this.#state.withLock(`dead-letter:${id}`, async (trx) => {
      const existing = await trx.selectFrom("dead_letters").selectAll().where("id", "=", id).executeTakeFirst();
      if (!existing) {
        const row: DeadLettersTable = {
          id, event_id: ev.id, source: ev.source, type: ev.type, trigger: input.trigger ?? null, error_dest: dest, error_code: code,
          error_data: data, attempts: input.attempts ?? null, state: "dead", count: 1, first_at: input.at, last_at: input.at, event: JSON.stringify(json),
        };
        await trx.insertInto("dead_letters").values(row).execute();
        return { deadLetter: toDeadLetter(row), created: true };
      }
      // Already waiting: a duplicate delivery of the same dead letter (delivery is at least once).
      if (existing.state === "dead") return { deadLetter: toDeadLetter(existing), created: false };
      // Replayed or discarded before, and dead-lettered again: it needs a decision again.
      const row: DeadLettersTable = {
        ...existing, state: "dead", count: existing.count + 1, last_at: input.at, error_code: code, error_data: data,
        attempts: input.attempts ?? null, trigger: input.trigger ?? existing.trigger, event: JSON.stringify(json),
      };
      await trx.updateTable("dead_letters").set(row).where("id", "=", id).execute();
      return { deadLetter: toDeadLetter(row), created: true };
    });
  }

  async get(id: string): Promise<DeadLetter> {
    const row = await this.#state.db.selectFrom("dead_letters").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw new NotFoundError(`dead letter ${id} not found`);
    return toDeadLetter(row);
  }

  async list(q: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    let query = this.#state.db.selectFrom("dead_letters").selectAll().where("state", "=", q.state ?? "dead");
    if (q.type) query = query.where("type", "=", q.type);
    const rows = await query
      .orderBy("last_at", "desc")
      .orderBy("id")
      .limit(clampInt(q.limit, 50, 1, 1000))
      .offset(clampInt(q.offset, 0, 0, Number.MAX_SAFE_INTEGER))
      .execute();
    return rows.map(toDeadLetter);
  }

  /** Mark as replayed. False when it was not waiting (already replayed or discarded, maybe by another replica). */
  markReplayed(id: string, at: number): Promise<boolean> {
    return this.#setState(id, "replayed", at);
  }

  discard(id: string, at: number): Promise<boolean> {
    return this.#setState(id, "discarded", at);
  }

  async #setState(id: string, state: DeadLetterState, at: number): Promise<boolean> {
    await this.get(id);
    const res = await this.#state.db.updateTable("dead_letters").set({ state, last_at: at }).where("id", "=", id).where("state", "=", "dead").executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
