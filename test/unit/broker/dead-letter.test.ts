// The deadLetter function and its store: idempotent recording, listing, replay through a bus, discard.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { CloudEvent } from "cloudevents";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../platform/errors.ts";
import { deadLetter, replayDeadLetter } from "../../../platform/eventing/dead-letter.ts";
import { DeadLetterStore, originalEvent } from "../../../platform/eventing/dead-letter-store.ts";
import type { AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";
import { openSqliteState } from "../../../platform/state/index.ts";

const log = createLogger("silent");

function deadLettered(id: string, code = 503, dest = "http://log-model.flywheel.svc.cluster.local"): AnyCloudEvent {
  return new CloudEvent<unknown>({
    id,
    source: "/flywheel/functions/launch-training",
    type: "dev.flywheel.training.succeeded",
    datacontenttype: "application/json",
    data: { model: "iris" },
    knativeerrordest: dest,
    knativeerrorcode: code,
    knativeerrordata: Buffer.from("busy").toString("base64"),
  });
}

function setup(): { store: DeadLetterStore; emitted: AnyCloudEvent[]; clock: { t: number }; deps: Parameters<typeof deadLetter>[1] } {
  const store = new DeadLetterStore(new Database(":memory:"));
  const emitted: AnyCloudEvent[] = [];
  const clock = { t: 1_000 };
  const deps = { store, log, now: () => clock.t, bus: { emit: async (e: AnyCloudEvent) => void emitted.push(e) } };
  return { store, emitted, clock, deps };
}

describe("deadLetter handler", () => {
  it("stores the event with its knativeerror* extensions", async () => {
    const { store, deps } = setup();
    const out = await deadLetter(deadLettered("e1"), deps);
    expect(out.status).toBe("done");
    const [dl] = store.list();
    expect(dl).toMatchObject({
      eventId: "e1",
      type: "dev.flywheel.training.succeeded",
      errorDest: "http://log-model.flywheel.svc.cluster.local",
      errorCode: 503,
      errorData: Buffer.from("busy").toString("base64"),
      state: "dead",
      count: 1,
    });
    expect(dl?.event).toMatchObject({ knativeerrorcode: 503, data: { model: "iris" } });
    expect(out.detail).toBe(dl?.id);
  });

  it("is idempotent: the same dead letter delivered twice is one row", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const again = await deadLetter(deadLettered("e1"), deps);
    expect(again.status).toBe("duplicate");
    expect(store.count()).toBe(1);
  });

  it("the same event failing at two destinations is two rows", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1", 503, "http://a.ns.svc.cluster.local"), deps);
    await deadLetter(deadLettered("e1", 503, "http://b.ns.svc.cluster.local"), deps);
    expect(store.count()).toBe(2);
  });
});

describe("replay and discard", () => {
  it("replay re-emits the original event without the knativeerror* extensions, once", async () => {
    const { store, deps, emitted, clock } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const [dl] = store.list();
    clock.t = 2_000;
    const replayed = await replayDeadLetter(store, dl?.id ?? "", deps);
    expect(replayed.state).toBe("replayed");
    expect(emitted).toHaveLength(1);
    const ev = emitted[0];
    expect(ev?.id).toBe("e1");
    expect(ev?.data).toEqual({ model: "iris" });
    expect(Object.keys(ev?.toJSON() ?? {}).filter((k) => k.startsWith("knativeerror"))).toEqual([]);
    await replayDeadLetter(store, dl?.id ?? "", deps);
    expect(emitted).toHaveLength(1);
    expect(store.list()).toHaveLength(0);
    expect(store.list({ state: "replayed" })).toHaveLength(1);
  });

  it("an event dead-lettered again after a replay waits again, with its count", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const id = store.list()[0]?.id ?? "";
    await replayDeadLetter(store, id, deps);
    const out = await deadLetter(deadLettered("e1", 500), deps);
    expect(out.status).toBe("done");
    expect(store.get(id)).toMatchObject({ state: "dead", count: 2, errorCode: 500 });
  });

  it("a failed replay leaves the dead letter waiting", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    const id = store.list()[0]?.id ?? "";
    const failing = { ...deps, bus: { emit: async () => Promise.reject(new Error("ingress down")) } };
    await expect(replayDeadLetter(store, id, failing)).rejects.toThrow("ingress down");
    expect(store.get(id).state).toBe("dead");
  });

  it("discard hides it from the default listing and keeps it on record", async () => {
    const { store, deps } = setup();
    await deadLetter(deadLettered("e1"), deps);
    await deadLetter(deadLettered("e2"), deps);
    const id = store.list({ type: "dev.flywheel.training.succeeded" })[0]?.id ?? "";
    expect(store.discard(id, 5)).toBe(true);
    expect(store.discard(id, 6)).toBe(false);
    expect(store.count()).toBe(1);
    expect(store.list({ state: "discarded" }).map((d) => d.id)).toEqual([id]);
  });

  it("unknown ids are NotFoundError", async () => {
    const { store, deps } = setup();
    expect(() => store.get("nope")).toThrow(NotFoundError);
    expect(() => store.discard("nope", 1)).toThrow(NotFoundError);
    await expect(replayDeadLetter(store, "nope", deps)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists newest first with limit and offset", async () => {
    const { store, deps, clock } = setup();
    for (let i = 0; i < 5; i++) {
      clock.t = 1_000 + i;
      await deadLetter(deadLettered(`e${i}`), deps);
    }
    expect(store.list({ limit: 2 }).map((d) => d.eventId)).toEqual(["e4", "e3"]);
    expect(store.list({ limit: 2, offset: 2 }).map((d) => d.eventId)).toEqual(["e2", "e1"]);
    expect(originalEvent(store.list({ limit: 1 })[0] ?? store.get("x")).id).toBe("e4");
  });
});

describe("DeadLetterStore's table", () => {
  const columns = (db: Database.Database): unknown[] =>
    db.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info('dead_letters') ORDER BY cid").all();
  const indexes = (db: Database.Database): unknown[] =>
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dead_letters' AND sql IS NOT NULL ORDER BY name").all();

  it("is the StateStore's dead_letters table (one declaration, migration 2)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "fw-dlq-"));
    try {
      const state = await openSqliteState(path.join(dir, "state.db"));
      await state.close();
      const migrated = new Database(path.join(dir, "state.db"), { readonly: true });
      const broker = new Database(":memory:");
      new DeadLetterStore(broker);
      expect(columns(broker)).toEqual(columns(migrated));
      expect(indexes(broker)).toEqual(indexes(migrated));
      expect(columns(broker)).toHaveLength(14);
      migrated.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps working on a database the previous release created (its own DDL, rows included)", async () => {
    const db = new Database(":memory:");
    // The DDL dead-letter-store.ts carried before the table was declared once, verbatim.
    db.exec(`CREATE TABLE dead_letters (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL,
      trigger TEXT, error_dest TEXT NOT NULL, error_code INTEGER, error_data TEXT NOT NULL, attempts INTEGER, state TEXT NOT NULL,
      count INTEGER NOT NULL, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, event TEXT NOT NULL);
      CREATE INDEX dead_letters_state ON dead_letters(state, last_at);`);
    const old = new DeadLetterStore(db);
    old.record({ event: deadLettered("e1"), at: 5 });
    const reopened = new DeadLetterStore(db);
    expect(reopened.list().map((d) => [d.eventId, d.firstAt, d.errorCode])).toEqual([["e1", 5, 503]]);
    const deps = { store: reopened, log, now: () => 6, bus: { emit: async () => undefined } };
    expect((await deadLetter(deadLettered("e2"), deps)).status).toBe("done");
    expect(reopened.count()).toBe(2);
  });
});
