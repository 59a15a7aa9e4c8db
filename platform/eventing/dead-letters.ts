// Dead letters as every store and page sees them (the embedded broker's SQLite store, the StateStore's table): the
// record, its id, its original event. No storage here, so the Knative functions that keep them in PostgreSQL do not
// load better-sqlite3 (a native addon, 15-30 ms of a cold start) for these helpers.
import { createHash } from "node:crypto";
import { fromStructured, type AnyCloudEvent } from "../events/envelope.ts";
import { decodeErrorData, KNATIVE_ERROR_CODE, KNATIVE_ERROR_DATA, KNATIVE_ERROR_DEST } from "./delivery.ts";
import type { DeadLettersTable } from "../state/schema.ts";

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

export function deadLetterId(source: string, eventId: string, dest: string): string {
  return createHash("sha256").update(`${source}\u0000${eventId}\u0000${dest}`).digest("hex").slice(0, 24);
}

/** The original event: the dead-lettered one without the knativeerror* extensions. */
export function originalEvent(dl: DeadLetter): AnyCloudEvent {
  const { [KNATIVE_ERROR_DEST]: _d, [KNATIVE_ERROR_CODE]: _c, [KNATIVE_ERROR_DATA]: _x, ...rest } = dl.event;
  return fromStructured(rest);
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
