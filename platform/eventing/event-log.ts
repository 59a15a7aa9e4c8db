// Event history on the shared StateStore (Knative mode): the event-log sink records, the UI's activity page reads.
import type { AnyCloudEvent } from "../events/envelope.ts";
import type { StateStore } from "../state/index.ts";
import { clampInt } from "./dead-letters.ts";
import { eventToJson } from "./serialize.ts";
import { lineageKeys } from "../state/schema.ts";
import type { EventsAboutQuery } from "../local/broker/types.ts";

export interface LoggedEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | undefined;
  /** epoch ms */
  readonly receivedAt: number;
  readonly event: Readonly<Record<string, unknown>>;
}

export interface EventLogRetention {
  /** Rows older than this are deleted. Default 7 days. */
  readonly maxAgeMs: number;
  /** At most this many rows are kept (the newest). Default 10 000. */
  readonly maxRows: number;
}

export const DEFAULT_RETENTION: EventLogRetention = { maxAgeMs: 7 * 24 * 3_600_000, maxRows: 10_000 };

export class StateEventLog {
  readonly #state: StateStore;
  readonly #retention: EventLogRetention;
  constructor(state: StateStore, retention: Partial<EventLogRetention> = {}) {
    this.#state = state;
    this.#retention = { ...DEFAULT_RETENTION, ...retention };
  }

  /** Record once per (source, id): a redelivered event changes nothing. Returns false for a duplicate. */
  async record(ev: AnyCloudEvent, at: number): Promise<boolean> {
    const json = JSON.stringify(eventToJson(ev));
    const res = await this.#state.db
      .insertInto("event_log")
      .values({
        key: JSON.stringify([ev.source, ev.id]),
        id: ev.id,
        source: ev.source,
        type: ev.type,
        subject: ev.subject ?? null,
        time: ev.time ?? null,
        received_at: at,
        event: json,
        ...lineageKeys(json),
      })
      .onConflict((oc) => oc.column("key").doNothing())
      .executeTakeFirst();
    const created = Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
    if (created) await this.trim(at);
    return created;
  }

  /** Apply the retention limit: by age, then by count. Any replica may run it; deleting twice is harmless. */
  async trim(now: number): Promise<void> {
    const db = this.#state.db;
    await db.deleteFrom("event_log").where("received_at", "<", now - this.#retention.maxAgeMs).execute();
    const cutoff = await db.selectFrom("event_log").select("received_at").orderBy("received_at", "desc").offset(this.#retention.maxRows).limit(1).executeTakeFirst();
    if (cutoff) await db.deleteFrom("event_log").where("received_at", "<=", cutoff.received_at).execute();
  }

  /** A version's lineage events (EventsAboutQuery), newest first: each OR branch is on an index of migration 6. */
  async about(q: EventsAboutQuery): Promise<LoggedEvent[]> {
    const deployments = q.deployments ?? [];
    const rows = await this.#state.db
      .selectFrom("event_log")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb("about_model", "=", q.model), eb("about_version", "=", q.version)]),
          ...(q.jobId ? [eb("about_job", "=", q.jobId)] : []),
          ...(deployments.length ? [eb.and([eb("about_name", "in", deployments), eb.or([eb("about_version", "is", null), eb("about_version", "=", q.version)])])] : []),
        ]),
      )
      .orderBy("received_at", "desc")
      .orderBy("key")
      .limit(clampInt(q.limit, 20, 1, 1000))
      .execute();
    return rows.map(toLogged);
  }

  /** Newest first; `type` is a full CloudEvents type. */
  async recent(q: { limit?: number | undefined; offset?: number | undefined; type?: string | undefined } = {}): Promise<LoggedEvent[]> {
    let query = this.#state.db.selectFrom("event_log").selectAll();
    if (q.type) query = query.where("type", "=", q.type);
    const rows = await query
      .orderBy("received_at", "desc")
      .orderBy("key")
      .limit(clampInt(q.limit, 50, 1, 1000))
      .offset(clampInt(q.offset, 0, 0, Number.MAX_SAFE_INTEGER))
      .execute();
    return rows.map(toLogged);
  }
}

function toLogged(r: { id: string; source: string; type: string; subject: string | null; received_at: number; event: string }): LoggedEvent {
  const event: unknown = JSON.parse(r.event);
  return {
    id: r.id,
    source: r.source,
    type: r.type,
    subject: r.subject ?? undefined,
    receivedAt: r.received_at,
    event: typeof event === "object" && event !== null && !Array.isArray(event) ? Object.fromEntries(Object.entries(event)) : {},
  };
}
