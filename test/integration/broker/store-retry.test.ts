// The dispatch loop after a store failure (SQLITE_BUSY behind another connection's write lock): it tries again with a
// bounded backoff, so due deliveries and recorded outcomes never wait for the next ingest.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { DeadLetterStore } from "../../../platform/eventing/dead-letter-store.ts";
import { resolveDelivery } from "../../../platform/eventing/delivery.ts";
import { BrokerDb, openDatabase, type NewDelivery } from "../../../platform/local/broker/db.ts";
import { createDeliver } from "../../../platform/local/broker/deliver.ts";
import { Dispatcher, STORE_RETRY_FIRST_MS, STORE_RETRY_MAX_MS } from "../../../platform/local/broker/dispatcher.ts";
import { createBrokerMetrics } from "../../../platform/local/broker/metrics.ts";
import { createLogger } from "../../../platform/log.ts";
import { startSubscriber, waitFor, type Reply } from "./support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A broker store on a file, as in production, that fails at once on a lock (busy_timeout 0), and a second
 * connection to hold that lock. */
function store(): { db: BrokerDb; locker: Database.Database } {
  const dir = mkdtempSync(path.join(tmpdir(), "broker-store-retry-"));
  const file = path.join(dir, "broker.db");
  const db = new BrokerDb(openDatabase(file));
  db.db.pragma("busy_timeout = 0");
  const locker = new Database(file);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => db.close(), () => locker.close());
  return { db, locker };
}

async function setup(opts: { db: BrokerDb; reply: (index: number) => Reply; retry: number; clock?: { t: number }; sleep?: (ms: number) => Promise<void> }) {
  const { db } = opts;
  const now = (): number => opts.clock?.t ?? Date.now();
  const sub = await startSubscriber((_r, i) => opts.reply(i));
  cleanups.push(() => sub.close());
  const errors: Record<string, unknown>[] = [];
  const log = createLogger("error", {}, (line) => {
    const rec: unknown = JSON.parse(line);
    if (typeof rec === "object" && rec !== null) errors.push({ ...rec });
  });
  const d = new Dispatcher({
    db,
    dlq: new DeadLetterStore(db.db),
    deliver: createDeliver({}),
    log,
    metrics: createBrokerMetrics(new Registry(), () => 0),
    now,
    sleep: opts.sleep,
    concurrency: 4,
    namespace: "flywheel",
  });
  cleanups.push(() => d.stop(1_000));
  const delivery: NewDelivery = {
    trigger: "t1",
    kind: "subscriber",
    target: { uri: sub.url },
    delivery: resolveDelivery({ retry: opts.retry, backoffPolicy: "linear", backoffDelay: "PT0.1S" }, undefined),
  };
  const json = JSON.stringify({ specversion: "1.0", id: "e1", source: "/tests", type: "com.example.work" });
  const stored = db.insertEvents([{ event: { source: "/tests", id: "e1", type: "com.example.work", subject: undefined, json }, deliveries: [delivery] }], now());
  await stored.durable;
  const state = (): string | undefined => db.deliveriesOf([stored.seqs[0] ?? -1])[0]?.state;
  return { sub, d, errors, state };
}

const busy = (errors: readonly Record<string, unknown>[], msg: string): number =>
  errors.filter((e) => e.msg === msg && String(e.message).includes("database is locked")).length;
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** Injected time: a sleep moves the clock on at once (after a real tick), then runs `then` (the n-th sleep, from 1). */
function fakeTime(then: (n: number, ms: number) => void): { clock: { t: number }; sleep: (ms: number) => Promise<void> } {
  const clock = { t: 1_000_000 };
  let n = 0;
  return {
    clock,
    sleep: async (ms) => {
      await tick();
      clock.t += ms;
      then(++n, ms);
    },
  };
}

describe("store failures in the dispatch loop", () => {
  it("a due retry whose claim hits a held write lock is still attempted, with no further ingest", async () => {
    const { db, locker } = store();
    // When the retry's backoff ends, another writer (the checkpoint worker's RESTART, say) holds the write lock, so the
    // retry's claim fails; it lets go during the loop's next wait.
    const time = fakeTime((n) => {
      if (n === 1) locker.exec("BEGIN IMMEDIATE");
      if (n === 2) locker.exec("COMMIT");
    });
    const t = await setup({ db, reply: (i) => ({ status: i === 0 ? 503 : 200 }), retry: 3, ...time });
    t.d.start();
    await waitFor(() => t.state() === "delivered", 10_000, "the retry delivered");
    expect(busy(t.errors, "broker dispatch loop failed; it tries again")).toBe(1);
    expect(t.sub.received).toHaveLength(2);
  });

  it("an outcome whose commit hits the lock is recorded later: the delivery does not stay in flight", async () => {
    const { db, locker } = store();
    // The subscriber answers while another connection holds the lock, so the outcome's commit fails.
    const t = await setup({
      db,
      reply: () => {
        locker.exec("BEGIN IMMEDIATE");
        return { status: 200 };
      },
      retry: 3,
    });
    t.d.start();
    await waitFor(() => busy(t.errors, "broker could not record delivery outcomes") > 0, 10_000, "the outcome's commit to fail");
    expect(t.state()).toBe("inflight");
    locker.exec("COMMIT");
    await waitFor(() => t.state() === "delivered", 10_000, "the outcome recorded");
    expect(t.sub.received).toHaveLength(1);
  });

  it("a store that keeps failing is tried again after growing waits up to a cap (no hot loop); attempt limits still hold", async () => {
    const { db, locker } = store();
    const waits: number[] = [];
    const time = fakeTime((n, ms) => {
      waits.push(ms);
      if (n === 10) locker.exec("COMMIT");
    });
    const t = await setup({ db, reply: () => ({ status: 503 }), retry: 1, ...time });
    locker.exec("BEGIN IMMEDIATE");
    t.d.start();
    await waitFor(() => t.state() === "dead_lettered", 10_000, "the delivery dead-lettered");
    const first = STORE_RETRY_FIRST_MS;
    expect(waits.slice(0, 10)).toEqual([first, first * 2, first * 4, first * 8, first * 16, first * 32, first * 64, STORE_RETRY_MAX_MS, STORE_RETRY_MAX_MS, STORE_RETRY_MAX_MS]);
    // retry: 1 = two attempts, whatever the loop went through.
    expect(t.sub.received).toHaveLength(2);
  });
});
