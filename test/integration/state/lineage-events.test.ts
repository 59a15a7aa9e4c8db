// A version's lineage events are selected in SQL on indexes, in both stores: the embedded broker's SQLite events and
// Knative mode's event_log on real PostgreSQL. An old version's events stay in its lineage under 100 000 newer events.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lineageOf } from "../../../pages/registry/lineage.tsx";
import type { UiDeps, UiEventLog } from "../../../pages/deps.ts";
import { StateEventLog } from "../../../platform/eventing/event-log.ts";
import { EmbeddedBroker } from "../../../platform/local/broker/broker.ts";
import { aboutField, openDatabase } from "../../../platform/local/broker/schema.ts";
import { TAG } from "../../../platform/lineage.ts";
import { createLogger } from "../../../platform/log.ts";
import type { DeploymentStatus } from "../../../platform/ports.ts";
import { lineageKeys } from "../../../platform/state/schema.ts";
import { openPostgresState, type StateStore } from "../../../platform/state/index.ts";
import { startPostgres, type TestPostgres } from "../../support/postgres.ts";

const NEWER = 100_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-lineage-events-"));
let pgc: TestPostgres | undefined;
let state: StateStore | undefined;

/** iris v1's own events (job, registration, its deployment), then NEWER events about v2 and other deployments. */
type Ev = { readonly type: string; readonly data: Readonly<Record<string, string>> };
const OLD: readonly Ev[] = [
  { type: "dev.flywheel.training.succeeded", data: { jobId: "job-v1", model: "iris" } },
  { type: "dev.flywheel.model.registered", data: { model: "iris", version: "1" } },
  { type: "dev.flywheel.deployment.ready", data: { name: "iris-prod", version: "1" } },
  // Same deployment name, another version: not v1's.
  { type: "dev.flywheel.deployment.ready", data: { name: "iris-prod", version: "2" } },
];
const newer = (i: number): Ev =>
  i % 2 ? { type: "dev.flywheel.model.registered", data: { model: "iris", version: "2" } } : { type: "dev.flywheel.infer.requested", data: { name: `other-${i % 50}` } };
const json = (e: Ev, id: string): string => JSON.stringify({ specversion: "1.0", id, source: "/test", type: e.type, data: e.data });

const deployment: DeploymentStatus = { name: "iris-prod", kind: "model", backend: "local", model: "iris", version: "1", revision: "r1", warnings: [], state: "ready", conditions: [], spec: { kind: "model", name: "iris-prod", model: "iris" }, updatedAt: 0 };

async function lineageEventTypes(events: UiEventLog): Promise<string[]> {
  const deps: Pick<UiDeps, "models" | "serving" | "events"> = {
    models: {
      getModelVersion: async () => ({ name: "iris", version: "1", tags: { [TAG.jobId]: "job-v1" }, aliases: [], runId: "r", source: "runs:/r/model", status: "READY", creationTimestamp: 0, lastUpdatedTimestamp: 0 }),
      searchModelVersions: async () => [],
    },
    serving: { name: "local", list: async () => [deployment], get: async () => deployment },
    events,
  };
  const g = await lineageOf(deps, "iris", "1");
  // The event's short type is in the node's title (its label is the human one, e.g. "Deployment ready").
  return (g.columns.at(-1) ?? []).map((n) => n.title?.split(" at ")[0] ?? n.label);
}

beforeAll(async () => {
  pgc = await startPostgres();
  state = await openPostgresState(await pgc.createDatabase("lineage"));
}, 60_000);
afterAll(async () => {
  await state?.close();
  await pgc?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("lineage events", () => {
  it("the embedded broker selects an old version's events on its expression indexes", async () => {
    const file = path.join(dir, "broker.db");
    const db = openDatabase(file);
    const insert = db.prepare("INSERT INTO events (source, id, type, subject, received_at, event) VALUES ('/test', ?, ?, NULL, ?, ?)");
    db.transaction(() => {
      OLD.forEach((e, i) => insert.run(`old-${i}`, e.type, i, json(e, `old-${i}`)));
      for (let i = 0; i < NEWER; i++) insert.run(`new-${i}`, newer(i).type, 1000 + i, json(newer(i), `new-${i}`));
    })();
    const plan = db
      .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN SELECT * FROM events WHERE (${aboutField("model")} = 'iris' AND ${aboutField("version")} = '1') OR ${aboutField("jobId")} = 'job-v1' ORDER BY seq DESC LIMIT 6`)
      .all()
      .map((r) => r.detail);
    // An event SQLite's JSON parser refuses (nested deeper than its 1000 limit; the fuzz suite sends such bodies) is
    // still stored: the index expressions must not raise.
    const deep = `{"data":${"[".repeat(1200)}${"]".repeat(1200)}}`;
    expect(() => insert.run("deep", "dev.example.deep", 5000, deep)).not.toThrow();
    db.close();
    expect(plan.some((d) => d.includes("events_lineage_version"))).toBe(true);
    expect(plan.some((d) => d.includes("events_lineage_job"))).toBe(true);
    expect(plan.some((d) => /^SCAN events/.test(d))).toBe(false);

    const broker = new EmbeddedBroker({ dbPath: file, triggers: [], deliver: async () => ({ status: 200 }), log: createLogger("error", {}), retentionMs: 0 });
    try {
      const events: UiEventLog = {
        recentEvents: async (q) => broker.recentEvents(q),
        eventsAbout: async (q) => broker.eventsAbout(q),
        deadLetters: async () => [],
        replayDeadLetter: async () => undefined,
        discardDeadLetter: async () => undefined,
      };
      // Newest first: the deployment, the registration, the job; iris-prod's v2 event is not v1's.
      expect(await lineageEventTypes(events)).toEqual(["deployment.ready", "model.registered", "training.succeeded"]);
      // What the lineage did before: the newest 500 events, filtered in JS, hold none of v1's.
      const { eventsAbout: _, ...recentOnly } = events;
      expect(await lineageEventTypes(recentOnly)).toEqual(["no events kept"]);
    } finally {
      await broker.stop();
    }
  }, 120_000);

  it("Knative mode's event_log on PostgreSQL selects them on migration 6's indexes", async () => {
    const s = state;
    if (!s) throw new Error("not started");
    const log = new StateEventLog(s, { maxRows: NEWER + 100 });
    const rows = OLD.map((e, i) => ({ key: `["/test","old-${i}"]`, id: `old-${i}`, source: "/test", type: e.type, subject: null, time: null, received_at: i, event: json(e, `old-${i}`), ...lineageKeys(json(e, `old-${i}`)) }));
    await s.db.insertInto("event_log").values(rows).execute();
    // 100 000 newer rows in one statement, keyed as record() keys them (odd: about iris v2; even: other deployments).
    await sql`INSERT INTO event_log (key, id, source, type, received_at, event, about_model, about_version, about_name)
      SELECT '["/test","new-' || i || '"]', 'new-' || i, '/test', 'dev.flywheel.model.registered', 1000 + i,
             '{"specversion":"1.0","id":"new-' || i || '","source":"/test","type":"dev.flywheel.model.registered","data":{"model":"iris","version":"2"}}',
             CASE WHEN i % 2 = 1 THEN 'iris' END, CASE WHEN i % 2 = 1 THEN '2' END, CASE WHEN i % 2 = 0 THEN 'other-' || (i % 50) END
      FROM generate_series(0, ${NEWER - 1}) AS i`.execute(s.db);
    await sql`ANALYZE event_log`.execute(s.db);
    const plan = await sql<{ "QUERY PLAN": string }>`EXPLAIN SELECT * FROM event_log WHERE (about_model = 'iris' AND about_version = '1') OR about_job = 'job-v1' OR (about_name IN ('iris-prod') AND (about_version IS NULL OR about_version = '1')) ORDER BY received_at DESC LIMIT 6`.execute(s.db);
    const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(text).toMatch(/event_log_about_version/);
    expect(text).not.toMatch(/Seq Scan/);

    // What the event-log function records now carries the keys too.
    const { CloudEvent } = await import("cloudevents");
    await log.record(new CloudEvent({ source: "/test", id: "late-1", type: "dev.flywheel.deployment.removed", data: { name: "iris-prod" } }), 5_000_000);
    const events: UiEventLog = {
      recentEvents: async (q) => log.recent(q),
      eventsAbout: async (q) => log.about(q),
      deadLetters: async () => [],
      replayDeadLetter: async () => undefined,
      discardDeadLetter: async () => undefined,
    };
    expect(await lineageEventTypes(events)).toEqual(["deployment.removed", "deployment.ready", "model.registered", "training.succeeded"]);
  }, 120_000);
});
