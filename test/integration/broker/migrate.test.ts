// The broker database's migration from schema 0 (AUTOINCREMENT, six indexes on events) keeps every row and seq, and
// pruning walks seq order; both on real SQLite files.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedBroker } from "../../../platform/local/broker/broker.ts";
import { BrokerDb } from "../../../platform/local/broker/db.ts";
import { aboutField, SCHEMA_VERSION } from "../../../platform/local/broker/migrate.ts";
import { openDatabase } from "../../../platform/local/broker/schema.ts";
import { createLogger } from "../../../platform/log.ts";

const dir = mkdtempSync(path.join(tmpdir(), "flywheel-broker-migrate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The schema as the broker created it before versioning (commit a9bfaf8), verbatim. */
const SCHEMA_V0 = `
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

const log = createLogger("error", {});
const TARGET = JSON.stringify({ uri: "http://127.0.0.1:9/" });
const SPEC = JSON.stringify({ retry: 0, backoffDelayMs: 0, timeoutMs: 1000, format: "binary" });
const eventJson = (id: string, type: string, data: Record<string, string>): string => JSON.stringify({ specversion: "1.0", id, source: "/old", type, data });

/** A schema-0 database as an old broker left it: seqs with gaps (events deleted), a delivery pending, one delivered. */
function oldDatabase(file: string): void {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.exec(SCHEMA_V0);
  const ev = db.prepare("INSERT INTO events (source, id, type, subject, received_at, event) VALUES ('/old', ?, ?, NULL, ?, ?)");
  const del = db.prepare(`INSERT INTO deliveries (event_seq, trigger, kind, target, delivery, state, attempts, next_attempt_at, updated_at)
    VALUES (?, 'work', 'subscriber', '${TARGET}', '${SPEC}', ?, ?, 0, 0)`);
  db.transaction(() => {
    for (let i = 1; i <= 6; i++) ev.run(`e${i}`, "dev.flywheel.model.registered", i, eventJson(`e${i}`, "dev.flywheel.model.registered", { model: "iris", version: String(i) }));
    ev.run("job", "dev.flywheel.training.succeeded", 7, eventJson("job", "dev.flywheel.training.succeeded", { jobId: "job-1", model: "iris" }));
    del.run(2, "delivered", 1);
    del.run(7, "pending", 0);
    db.exec("DELETE FROM events WHERE seq IN (3, 7)"); // e3 pruned; the newest (7) too: AUTOINCREMENT's counter stays at 7
    ev.run("job", "dev.flywheel.training.succeeded", 8, eventJson("job", "dev.flywheel.training.succeeded", { jobId: "job-1", model: "iris" }));
    del.run(8, "pending", 0);
  })();
  db.close();
}

const sqlOf = (db: Database.Database, name: string): string =>
  db.prepare<[string], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = ?").get(name)?.sql ?? "";

describe("broker database migration", () => {
  it("rebuilds a schema-0 database without AUTOINCREMENT and the unused indexes, keeping every row and seq", async () => {
    const file = path.join(dir, "v0.db");
    oldDatabase(file);
    const db = openDatabase(file);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(sqlOf(db, "events")).not.toMatch(/AUTOINCREMENT/);
    expect(sqlOf(db, "deliveries")).not.toMatch(/AUTOINCREMENT/);
    expect(sqlOf(db, "deliveries")).toMatch(/REFERENCES events\(seq\) ON DELETE CASCADE/);
    const indexes = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name").all().map((r) => r.name);
    expect(indexes).toEqual(["deliveries_due", "events_lineage_job", "events_lineage_name", "events_lineage_version", "events_type"]);
    expect(db.prepare("SELECT name FROM sqlite_sequence WHERE name IN ('events', 'deliveries')").all()).toEqual([]);
    expect(db.prepare("SELECT seq, id FROM events ORDER BY seq").all()).toEqual(
      [1, 2, 4, 5, 6, 8].map((seq) => ({ seq, id: seq === 8 ? "job" : `e${seq}` })),
    );
    expect(db.prepare("SELECT event_seq, state FROM deliveries ORDER BY seq").all()).toEqual([{ event_seq: 2, state: "delivered" }, { event_seq: 8, state: "pending" }]);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    db.close();

    // The broker runs on it: the pending delivery is still due, lookups and lineage find the old events, and a new
    // event's seq follows the highest one.
    const broker = new EmbeddedBroker({ dbPath: file, triggers: [], deliver: async () => ({ status: 200 }), log, retentionMs: 0 });
    try {
      expect(broker.eventsById("e2").map((e) => [e.seq, e.deliveries.map((d) => d.state)])).toEqual([[2, ["delivered"]]]);
      expect(broker.eventsAbout({ model: "iris", version: "4", jobId: "job-1", limit: 10 }).map((e) => e.id)).toEqual(["job", "e4"]);
      expect(broker.recentEvents({ type: "dev.flywheel.model.registered", limit: 2 }).map((e) => e.seq)).toEqual([6, 5]);
      const { CloudEvent } = await import("cloudevents");
      await broker.emit(new CloudEvent({ source: "/new", id: "n1", type: "dev.example.new", data: {} }));
      expect(broker.recentEvents({ limit: 1 }).map((e) => [e.seq, e.id])).toEqual([[9, "n1"]]);
      // Dedupe still holds on (source, id), under the reordered unique index.
      expect(await broker.accept(new CloudEvent({ source: "/old", id: "e1", type: "dev.flywheel.model.registered", data: { model: "iris", version: "1" } }))).toMatchObject({ duplicate: true });
      expect(await broker.accept(new CloudEvent({ source: "/other", id: "e1", type: "dev.example.new", data: {} }))).toMatchObject({ duplicate: false });
    } finally {
      await broker.stop();
    }
  });

  it("opens a current database as it is (dropping indexes a downgraded broker added), and refuses one from a newer broker", () => {
    const file = path.join(dir, "current.db");
    const db = openDatabase(file);
    db.exec("INSERT INTO events (source, id, type, received_at, event) VALUES ('/s', 'a', 't', 1, '{}')");
    db.close();
    // The release before runs on it too (a downgrade) and adds its indexes back; the next open drops them again.
    const old = new Database(file);
    old.exec(SCHEMA_V0);
    old.close();
    const again = openDatabase(file);
    expect(again.prepare("SELECT id FROM events").all()).toEqual([{ id: "a" }]);
    expect(again.prepare("SELECT name FROM sqlite_master WHERE name IN ('events_id', 'events_received')").all()).toEqual([]);
    again.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    again.close();
    expect(() => openDatabase(file)).toThrow(/schema version 2 is newer/);
  });

  it("the queries use their indexes at 100k events (no scan of events)", () => {
    const db = openDatabase(path.join(dir, "plans.db"));
    const insert = db.prepare("INSERT INTO events (source, id, type, received_at, event) VALUES ('/s', ?, ?, ?, ?)");
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) insert.run(`e${i}`, `t${i % 5}`, i, eventJson(`e${i}`, `t${i % 5}`, i % 2 ? { model: "iris", version: String(i % 9) } : { name: `d${i % 40}` }));
    })();
    db.exec("ANALYZE");
    const plan = (q: string): string => db.prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${q}`).all().map((r) => r.detail).join("; ");
    const f = aboutField;
    expect(plan("SELECT * FROM events WHERE id = 'e5' ORDER BY seq DESC")).toMatch(/USING INDEX sqlite_autoindex_events_1 \(id=\?\)/);
    expect(plan("SELECT * FROM events WHERE source = '/s' AND id = 'e5'")).toMatch(/USING INDEX sqlite_autoindex_events_1 \(id=\? AND source=\?\)/);
    expect(plan("SELECT * FROM events WHERE type = 't3' ORDER BY seq DESC LIMIT 50")).toMatch(/USING INDEX events_type/);
    const about = plan(
      `SELECT * FROM events WHERE (${f("model")} = 'iris' AND ${f("version")} = '1') OR ${f("jobId")} = 'j' OR (${f("name")} IN ('d1', 'd2') AND (${f("version")} IS NULL OR ${f("version")} = '1')) ORDER BY seq DESC LIMIT 20`,
    );
    for (const index of ["events_lineage_version", "events_lineage_job", "events_lineage_name"]) expect(about).toContain(index);
    expect(about).not.toMatch(/SCAN events/);
    db.close();
  }, 60_000);

  it("prunes old events whose deliveries are finished, walking seq order; a seq that comes back after pruning is a new event's", () => {
    const db = new BrokerDb(openDatabase(path.join(dir, "prune.db")));
    try {
      const d = { trigger: "work", kind: "subscriber" as const, target: { uri: "http://127.0.0.1:9/" }, delivery: { retry: 0, backoffDelayMs: 0, timeoutMs: 1000, format: "binary" as const, backoffPolicy: undefined, deadLetterSink: undefined } };
      const add = (id: string, at: number): number | undefined =>
        db.insertEvents([{ event: { source: "/s", id, type: "t", subject: undefined, json: eventJson(id, "t", {}) }, deliveries: [d] }], at).seqs[0];
      for (let i = 1; i <= 5; i++) add(`old${i}`, i * 10);
      const claimed = db.claimDue(1000, 5);
      const pending = claimed.find((c) => c.event.id === "old2");
      expect(claimed).toHaveLength(5);
      for (const c of claimed) db.setState(c.seq, c === pending ? "pending" : "delivered", 1000, { nextAt: 5000 });
      expect(add("new", 100)).toBe(6);
      for (const c of db.claimDue(1000, 5)) db.setState(c.seq, "delivered", 1000, {});
      // Before 45: old1, old3, old4 go; old2 still has a pending delivery; old5 and new are recent.
      expect(db.prune(45)).toBe(3);
      expect(db.recentEvents({ limit: 10, offset: 0, type: undefined }).map((e) => e.id)).toEqual(["new", "old5", "old2"]);
      expect(db.deliveriesOf([1, 3, 4])).toEqual([]);
      // Everything finished and old: the newest row goes too, and the next event takes seq 2 + 1 again: a new event.
      db.setState(pending?.seq ?? 0, "delivered", 1000, {});
      expect(db.prune(1_000)).toBe(3);
      expect(add("after", 2000)).toBe(1);
      expect(db.eventsById("after").map((e) => e.seq)).toEqual([1]);
      expect(db.deliveriesOf([1]).map((r) => r.state)).toEqual(["pending"]);
    } finally {
      void db.close();
    }
  });
});
