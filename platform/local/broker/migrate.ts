// The broker database's tables and indexes, versioned by PRAGMA user_version, with forward-only migrations.
import type Database from "better-sqlite3";

/**
 * A lineage key of a stored event, as its expression indexes and eventsAbout both spell it (the planner only uses an
 * index for the identical expression). json_valid guards it: json_extract raises on JSON that SQLite cannot parse
 * (nesting deeper than its limit of 1000, which JSON.stringify happily writes), and an index expression that raises
 * would refuse the event's insert.
 */
export const aboutField = (f: "model" | "version" | "jobId" | "name"): string => `(CASE WHEN json_valid(event) THEN json_extract(event, '$.data.${f}') END)`;

/** The schema version this code writes; a database at a newer one is refused (it came from a newer broker). */
export const SCHEMA_VERSION = 1;

/**
 * Every index is one more WAL page per event (a commit writes each b-tree it touches), so only what a query needs:
 * - no AUTOINCREMENT: it writes sqlite_sequence on every insert. A seq is max(seq)+1 instead, so after the newest
 *   rows are pruned a seq can come back; nothing keeps a seq of a deleted row (readers order by seq, deliveries
 *   cascade with their event, and only finished deliveries are pruned, never one in flight);
 * - UNIQUE (id, source) serves both the dedupe (source, id) and eventsById (id), which had an index of its own;
 * - prune walks seq order (received_at grows with seq), so received_at needs no index;
 * - the lineage indexes are partial: an event without the key (most events) writes none of them. A query's
 *   `key = ?` / `key IN (...)` implies `key IS NOT NULL`, so the planner still uses them (lineage-events.test.ts).
 */
const TABLES = (suffix: string): string => `
CREATE TABLE events${suffix} (
  seq INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  subject TEXT,
  received_at INTEGER NOT NULL,
  event TEXT NOT NULL,
  UNIQUE (id, source)
);
CREATE TABLE deliveries${suffix} (
  seq INTEGER PRIMARY KEY,
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
);`;

const lineageIndex = (name: string, keys: readonly ("model" | "version" | "jobId" | "name")[], when: "version" | "jobId" | "name"): string =>
  `CREATE INDEX ${name} ON events(${keys.map(aboutField).join(", ")}) WHERE ${aboutField(when)} IS NOT NULL;`;

const INDEXES = `
CREATE INDEX events_type ON events(type, seq);
${lineageIndex("events_lineage_version", ["model", "version"], "version")}
${lineageIndex("events_lineage_job", ["jobId"], "jobId")}
${lineageIndex("events_lineage_name", ["name"], "name")}
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
`;

const COLUMNS = {
  events: "seq, source, id, type, subject, received_at, event",
  deliveries: "seq, event_seq, trigger, kind, target, delivery, extensions, state, attempts, next_attempt_at, last_status, last_error, updated_at",
};

/**
 * Version 0 (user_version 0 with the tables there): AUTOINCREMENT on both tables, six indexes on events. Rebuilt as
 * SQLite's ALTER TABLE recipe does (new tables, copy, drop, rename), rows and seqs kept.
 */
function fromV0(db: Database.Database): void {
  db.exec(TABLES("_v1"));
  db.exec(`INSERT INTO events_v1 (${COLUMNS.events}) SELECT ${COLUMNS.events} FROM events`);
  db.exec(`INSERT INTO deliveries_v1 (${COLUMNS.deliveries}) SELECT ${COLUMNS.deliveries} FROM deliveries`);
  // Foreign keys are off (set by migrate): dropping events must not cascade into the deliveries just copied.
  db.exec("DROP TABLE deliveries; DROP TABLE events; ALTER TABLE events_v1 RENAME TO events; ALTER TABLE deliveries_v1 RENAME TO deliveries;");
  db.exec(INDEXES);
}

/** Bring the broker's tables to SCHEMA_VERSION (create them in a new database). One transaction: all or nothing. */
export function migrate(db: Database.Database): void {
  const version = (): number => Number(db.pragma("user_version", { simple: true }));
  if (version() === SCHEMA_VERSION) {
    // The release before still runs on this schema (a downgrade), and creates its own indexes again: drop them.
    db.exec("DROP INDEX IF EXISTS events_id; DROP INDEX IF EXISTS events_received;");
    return;
  }
  // PRAGMA foreign_keys is a no-op inside a transaction: switch it off around the rebuild.
  const fk = Number(db.pragma("foreign_keys", { simple: true }));
  db.pragma("foreign_keys = OFF");
  try {
    db.transaction(() => {
      const v = version(); // again, under the write lock: another process may have migrated meanwhile
      if (v === SCHEMA_VERSION) return;
      if (v > SCHEMA_VERSION) throw new Error(`broker database schema version ${v} is newer than this broker's (${SCHEMA_VERSION})`);
      const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get() !== undefined;
      if (exists) fromV0(db);
      else db.exec(TABLES("") + INDEXES);
      const broken = db.pragma("foreign_key_check");
      if (Array.isArray(broken) && broken.length > 0) throw new Error(`broker database migration left ${broken.length} dangling rows`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } finally {
    db.pragma(`foreign_keys = ${fk ? "ON" : "OFF"}`);
  }
}
