// One StateStore suite, the same cases against SQLite and a real PostgreSQL: migrations, locks, retrain decisions.
import { afterAll, describe, expect, it } from "vitest";
import { MemoryRetrainStore, StateRetrainStore, type DecisionRecord, type RetrainStore, type TrainingRecord } from "../../../functions/retrain-on-drift/store.ts";
import { CloudEvent } from "cloudevents";
import { NotFoundError } from "../../../platform/errors.ts";
import { StateDeadLetters } from "../../../platform/eventing/dead-letter-state.ts";
import { StateEventLog } from "../../../platform/eventing/event-log.ts";
import { migrate, MIGRATIONS, type StateStore } from "../../../platform/state/index.ts";
import { useAdapters } from "./adapters.ts";

const adapter = useAdapters();

const decision = (key: string, over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  causeKey: key,
  model: "iris",
  decision: "started",
  reason: "started",
  at: 1,
  events: [{ id: `ev-${key}`, type: "t" }],
  emitted: false,
  ...over,
});
const training = (id: string, cause: string, requestedAt: number): TrainingRecord => ({
  trainingEventId: id,
  model: "iris",
  reason: "drift",
  causeEventId: cause,
  requestedAt,
  staleAt: requestedAt + 1000,
});
const record = (s: RetrainStore, d: DecisionRecord, t?: TrainingRecord) => s.decide(d.model, d.causeKey, 0, () => ({ decision: d, training: t }));

describe.each(["sqlite", "postgresql"])("%s StateStore", (name) => {
  let opened: StateStore[] = [];
  const open = async (loc?: string): Promise<StateStore> => {
    const s = await adapter(name).open(loc ?? (await adapter(name).fresh()));
    opened.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of opened) await s.close();
    opened = [];
  });
  /**
   * N replicas on one location. PostgreSQL: N pools opened at once. SQLite is embedded mode's single process: one
   * store shared N times (better-sqlite3 waits for a lock synchronously, so two connections in one process would
   * block each other's event loop; a second process on the file is not a supported deployment).
   */
  const replicas = async (n: number, loc: string): Promise<StateStore[]> => {
    if (name === "postgresql") return Promise.all(Array.from({ length: n }, () => open(loc)));
    const one = await open(loc);
    return Array.from({ length: n }, () => one);
  };

  it("migrates a new store to every version once; a second start applies nothing", async () => {
    const loc = await adapter(name).fresh();
    const a = await open(loc);
    expect(a.migrated).toEqual({ applied: MIGRATIONS.map((m) => m.version), unknown: [] });
    const b = await open(loc);
    expect(b.migrated).toEqual({ applied: [], unknown: [] });
  });

  it("a start on a current schema confirms it with one statement, no locked transaction per migration", async () => {
    const s = await open(await adapter(name).fresh());
    let statements = 0;
    const counted = s.db.withPlugin({ transformQuery: (a) => (statements++, a.node), transformResult: async (a) => a.result });
    expect(await migrate(counted, async () => expect.unreachable("no lock is taken"))).toEqual({ applied: [], unknown: [] });
    expect(statements).toBe(1);
  });

  it("five stores starting at once on one database apply each migration exactly once", async () => {
    const loc = await adapter(name).fresh();
    const stores = await replicas(5, loc);
    const applied = [...new Set(stores)].flatMap((s) => s.migrated.applied).sort((x, y) => x - y);
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    const rows = await stores[0]!.db.selectFrom("flywheel_schema").select("version").orderBy("version").execute();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("an old release starting after a newer one migrated runs, and reports the version it does not know", async () => {
    const loc = await adapter(name).fresh();
    const s = await open(loc);
    const next = { version: 999, name: "a newer release's expansion", up: async () => undefined };
    expect(await migrate(s.db, async () => undefined, [...MIGRATIONS, next])).toEqual({ applied: [999], unknown: [] });
    const old = await open(loc);
    expect(old.migrated).toEqual({ applied: [], unknown: [999] });
  });

  it("withLock serialises holders of the same key across replicas", async () => {
    const loc = await adapter(name).fresh();
    const [a, b] = await replicas(2, loc);
    if (!a || !b) throw new Error("no replicas");
    const trace: string[] = [];
    const hold = (s: StateStore, who: string) =>
      s.withLock("k", async () => {
        trace.push(`${who}+`);
        await new Promise((r) => setTimeout(r, 50));
        trace.push(`${who}-`);
      });
    await Promise.all([hold(a, "a"), hold(b, "b"), hold(a, "c")]);
    // Never two holders at once: every enter is followed by its own exit.
    for (let i = 0; i < trace.length; i += 2) expect(trace[i + 1]).toBe(trace[i]!.replace("+", "-"));
  });

  it("a transaction that throws leaves nothing behind", async () => {
    const s = new StateRetrainStore(await open());
    await expect(
      s.decide("iris", "k", 0, () => {
        throw new Error("crash mid-decision");
      }),
    ).rejects.toThrow("crash mid-decision");
    expect(await s.getDecision("k")).toBeUndefined();
  });

  it("concurrent decisions for one model from three replicas see each other (one start)", async () => {
    const loc = await adapter(name).fresh();
    const stores = (await replicas(3, loc)).map((r) => new StateRetrainStore(r));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stores[i % 3]!.decide("iris", `cause-${i}`, 0, (trainings) =>
          trainings.some((t) => t.finishedAt === undefined)
            ? { decision: decision(`cause-${i}`, { decision: "skipped", reason: "in-flight" }) }
            : { decision: decision(`cause-${i}`), training: training(`t-${i}`, `c-${i}`, 10) },
        ),
      ),
    );
    expect(results.filter((r) => r.record.decision === "started")).toHaveLength(1);
    expect(await stores[0]!.trainings("iris", 0)).toHaveLength(1);
  });
});

const retrainStores: [string, () => Promise<RetrainStore>][] = [
  ["memory", async () => new MemoryRetrainStore()],
  ["sqlite", async () => new StateRetrainStore(await adapter("sqlite").open(await adapter("sqlite").fresh()), { owns: true })],
  ["postgresql", async () => new StateRetrainStore(await adapter("postgresql").open(await adapter("postgresql").fresh()), { owns: true })],
];

describe.each(retrainStores)("%s RetrainStore", (_name, make) => {
  it("records a decision once, with its events, and marks it emitted", async () => {
    const s = await make();
    expect((await record(s, decision("a"), training("t1", "c1", 100))).fresh).toBe(true);
    const again = await record(s, decision("a", { reason: "other" }), training("t2", "c1", 100));
    expect(again).toMatchObject({ fresh: false, record: { reason: "started" } });
    expect(await s.getDecision("a")).toMatchObject({ reason: "started", emitted: false, events: [{ id: "ev-a", type: "t" }] });
    await s.markEmitted("a");
    expect((await s.getDecision("a"))?.emitted).toBe(true);
    expect(await s.getDecision("b")).toBeUndefined();
    expect(await s.trainings("iris", 0)).toHaveLength(1);
    await s.close();
  });

  it("keys decisions by (source, id) joined with NUL, which PostgreSQL text cannot hold raw", async () => {
    const s = await make();
    const key = "/flywheel/triggers/alertmanager\u0000id-1\\0";
    await record(s, decision(key));
    expect((await s.getDecision(key))?.causeKey).toBe(key);
    expect(await s.getDecision("/flywheel/triggers/alertmanager\\0id-1\\0")).toBeUndefined();
    expect((await s.recentDecisions(1))[0]?.causeKey).toBe(key);
    await s.close();
  });

  it("lists recent or unfinished trainings and finishes them by cause", async () => {
    const s = await make();
    await record(s, decision("a"), training("old-done", "c0", 10));
    await record(s, decision("b"), training("old-running", "c1", 20));
    await record(s, decision("c"), training("new", "c2", 500));
    expect(await s.finishTraining("iris", "c0", "succeeded", 30)).toBe(true);
    expect(await s.finishTraining("iris", "nope", "failed", 30)).toBe(false);
    expect(await s.finishTraining("wine", "c1", "failed", 30)).toBe(false);
    expect((await s.trainings("iris", 100)).map((t) => t.trainingEventId).sort()).toEqual(["new", "old-running"]);
    // A second outcome for the same training does not overwrite the first.
    await s.finishTraining("iris", "c0", "failed", 99);
    expect((await s.trainings("iris", 0)).find((t) => t.trainingEventId === "old-done")).toMatchObject({ outcome: "succeeded", finishedAt: 30 });
    await s.close();
  });

  it("passes the model's trainings to the proposal and lists the latest decisions first", async () => {
    const s = await make();
    await record(s, decision("a", { at: 5 }), training("t1", "c1", 100));
    let seen: readonly TrainingRecord[] = [];
    await s.decide("iris", "b", 50, (t) => {
      seen = t;
      return { decision: decision("b", { at: 9, decision: "skipped", reason: "in-flight" }) };
    });
    expect(seen.map((t) => t.trainingEventId)).toEqual(["t1"]);
    expect((await s.recentDecisions(10)).map((d) => d.causeKey)).toEqual(["b", "a"]);
    await s.close();
  });
});

it("SQLite state survives a reopen", async () => {
  const a = adapter("sqlite");
  const file = await a.fresh();
  const first = new StateRetrainStore(await a.open(file), { owns: true });
  await record(first, decision("k", { emitted: true }), training("t", "c", 5));
  await first.close();
  const second = new StateRetrainStore(await a.open(file), { owns: true });
  expect((await second.getDecision("k"))?.emitted).toBe(true);
  expect(await second.trainings("iris", 0)).toEqual([expect.objectContaining({ trainingEventId: "t", causeEventId: "c", requestedAt: 5, staleAt: 1005 })]);
  await second.close();
});

describe.each(["sqlite", "postgresql"])("%s dead letters and event log", (name) => {
  const fresh = async () => adapter(name).open(await adapter(name).fresh());
  const dead = (id: string, code = 503) =>
    new CloudEvent<unknown>({
      specversion: "1.0", id, source: "/flywheel/test", type: "dev.flywheel.model.logged", datacontenttype: "application/json", data: { model: "iris" },
      knativeerrordest: "http://log-model.flywheel.svc.cluster.local", knativeerrorcode: code, knativeerrordata: Buffer.from("busy").toString("base64"),
    });

  it("records a dead letter once per (source, id, destination), lists, replays and discards it", async () => {
    const state = await fresh();
    const s = new StateDeadLetters(state);
    const first = await s.record({ event: dead("e1"), at: 10 });
    expect(first).toMatchObject({ created: true, deadLetter: { eventId: "e1", errorCode: 503, state: "dead", count: 1 } });
    expect((await s.record({ event: dead("e1"), at: 11 })).created).toBe(false);
    await s.record({ event: dead("e2", 500), at: 12 });
    expect((await s.list()).map((d) => d.eventId)).toEqual(["e2", "e1"]);
    expect(await s.markReplayed(first.deadLetter.id, 20)).toBe(true);
    expect(await s.markReplayed(first.deadLetter.id, 21)).toBe(false);
    expect((await s.list({ state: "replayed" })).map((d) => d.eventId)).toEqual(["e1"]);
    // Dead-lettered again after its replay: waiting for a decision again, counted twice.
    expect((await s.record({ event: dead("e1"), at: 30 })).deadLetter).toMatchObject({ state: "dead", count: 2, lastAt: 30 });
    const [e2] = await s.list({ type: "dev.flywheel.model.logged", limit: 1, offset: 1 });
    expect(e2?.eventId).toBe("e2");
    expect(await s.discard(e2?.id ?? "", 40)).toBe(true);
    expect((await s.list()).map((d) => d.eventId)).toEqual(["e1"]);
    await expect(s.get("nope")).rejects.toBeInstanceOf(NotFoundError);
    await state.close();
  });

  it("logs each event once, newest first, filtered by type, within its retention limit", async () => {
    const state = await fresh();
    const log = new StateEventLog(state, { maxRows: 3, maxAgeMs: 1000 });
    const ev = (id: string, type = "dev.flywheel.alert.firing") => new CloudEvent<unknown>({ specversion: "1.0", id, source: "/s", type, subject: "iris", data: { n: id } });
    expect(await log.record(ev("a"), 100)).toBe(true);
    expect(await log.record(ev("a"), 101)).toBe(false);
    await log.record(ev("b", "dev.flywheel.retrain.decided"), 200);
    await log.record(ev("c"), 300);
    expect((await log.recent()).map((e) => e.id)).toEqual(["c", "b", "a"]);
    expect((await log.recent({ type: "dev.flywheel.retrain.decided" }))[0]).toMatchObject({ id: "b", subject: "iris", receivedAt: 200, event: { data: { n: "b" } } });
    // A fourth row pushes out the oldest (count), and an event past maxAgeMs is gone after the next record (age).
    await log.record(ev("d"), 400);
    expect((await log.recent()).map((e) => e.id)).toEqual(["d", "c", "b"]);
    await log.record(ev("e"), 1350);
    // now 1350, maxAge 1000: b (200) and c (300) are gone by age, though the count limit would have kept c.
    expect((await log.recent()).map((e) => e.id)).toEqual(["e", "d"]);
    await state.close();
  });
});
