// The broker's tables, row shapes and the (re-validated) JSON it stores in them.
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import * as z from "zod";
import { BACKOFF_POLICIES, DELIVERY_FORMATS, DestinationSchema, type ResolvedDelivery } from "../../eventing/delivery.ts";
import type { Subscriber } from "./types.ts";
import { DELIVERY_STATES, type DeliveryInfo, type DeliveryKind, type DeliveryState } from "./types.ts";
import { privateFile } from "../../private-files.ts";

/**
 * A lineage key of a stored event, as its expression indexes and eventsAbout both spell it (the planner only uses an
 * index for the identical expression). json_valid guards it: json_extract raises on JSON that SQLite cannot parse
 * (nesting deeper than its limit of 1000, which JSON.stringify happily writes), and an index expression that raises
 * would refuse the event's insert.
 */
export const aboutField = (f: "model" | "version" | "jobId" | "name"): string => `(CASE WHEN json_valid(event) THEN json_extract(event, '$.data.${f}') END)`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  subject TEXT,
  received_at INTEGER NOT NULL,
  event TEXT NOT NULL,
  UNIQUE (source, id)
);
CREATE INDEX IF NOT EXISTS events_type ON events(type, seq);
CREATE INDEX IF NOT EXISTS events_id ON events(id);
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
DROP INDEX IF EXISTS events_about_version;
DROP INDEX IF EXISTS events_about_job;
DROP INDEX IF EXISTS events_about_name;
CREATE INDEX IF NOT EXISTS events_lineage_version ON events(${aboutField("model")}, ${aboutField("version")});
CREATE INDEX IF NOT EXISTS events_lineage_job ON events(${aboutField("jobId")});
CREATE INDEX IF NOT EXISTS events_lineage_name ON events(${aboutField("name")});
CREATE TABLE IF NOT EXISTS deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_seq INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
  trigger TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  delivery TEXT NOT NULL,
  extensions TEXT,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  updated_at INTEGER NOT NULL,
  UNIQUE (event_seq, trigger, kind)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(state, next_attempt_at);
`;

export interface DeliveryRow {
  seq: number;
  event_seq: number;
  trigger: string;
  kind: string;
  target: string;
  delivery: string;
  extensions: string | null;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  updated_at: number;
}

export interface EventRow {
  seq: number;
  source: string;
  id: string;
  type: string;
  subject: string | null;
  received_at: number;
  event: string;
}

/** A delivery claimed for an attempt, with its event. */
export interface Claimed {
  readonly seq: number;
  readonly eventSeq: number;
  readonly trigger: string;
  readonly kind: DeliveryKind;
  readonly target: Subscriber;
  readonly delivery: ResolvedDelivery;
  readonly extensions: Record<string, string | number> | undefined;
  /** Attempt number of this claim (1 = first try). */
  readonly attempt: number;
  readonly event: Record<string, unknown>;
}

export interface NewEvent {
  readonly source: string;
  readonly id: string;
  readonly type: string;
  readonly subject: string | undefined;
  readonly json: string;
}

export interface NewDelivery {
  readonly trigger: string;
  readonly kind: DeliveryKind;
  readonly target: Subscriber;
  readonly delivery: ResolvedDelivery;
  readonly extensions?: Record<string, string | number> | undefined;
}

export function openDatabase(file: string): Database.Database {
  if (file !== ":memory:" && file !== "") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(privateFile(file));
  db.pragma("journal_mode = WAL");
  // FULL: a commit is on disk before the ingress answers 202 (WAL's NORMAL could lose it on power loss).
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  db.exec(SCHEMA);
  return db;
}

// Stored JSON is re-validated when read back, so a hand-edited or older row fails loudly instead of misbehaving.
const StoredTarget = z.object({
  ref: z.object({ apiVersion: z.string().optional(), kind: z.string(), name: z.string(), namespace: z.string().optional() }).optional(),
  uri: z.string().optional(),
});
const StoredDelivery = z.object({
  retry: z.number().int().min(0),
  backoffPolicy: z.enum(BACKOFF_POLICIES).optional(),
  backoffDelayMs: z.number().min(0),
  timeoutMs: z.number().positive(),
  deadLetterSink: DestinationSchema.optional(),
  format: z.enum(DELIVERY_FORMATS),
});
/** A stored delivery target (as written from a trigger's subscriber or deadLetterSink). */
export const parseTarget = (text: string): Subscriber & { ref?: { namespace?: string | undefined } | undefined } =>
  StoredTarget.parse(JSON.parse(text));
export const parseDelivery = (text: string): ResolvedDelivery => {
  const d = StoredDelivery.parse(JSON.parse(text));
  return { ...d, backoffPolicy: d.backoffPolicy, deadLetterSink: d.deadLetterSink };
};

const isState = (v: string): v is DeliveryState => DELIVERY_STATES.some((s) => s === v);
export const asObject = (text: string | null): Record<string, unknown> | undefined => {
  if (!text) return undefined;
  const v: unknown = JSON.parse(text);
  return typeof v === "object" && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : undefined;
};

export function toDeliveryInfo(r: DeliveryRow): DeliveryInfo {
  return {
    trigger: r.trigger,
    kind: r.kind === "dead_letter_sink" ? "dead_letter_sink" : "subscriber",
    state: isState(r.state) ? r.state : "pending",
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastStatus: r.last_status ?? undefined,
    lastError: r.last_error ?? undefined,
    updatedAt: r.updated_at,
  };
}

