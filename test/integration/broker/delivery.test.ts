// Delivery per DeliverySpec: retries with backoff, Knative's retry rule, dead letters with knativeerror*, replay, discard.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { CloudEvent } from "cloudevents";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { NotFoundError } from "../../../platform/errors.ts";
import { deadLetter } from "../../../platform/eventing/dead-letter.ts";
import type { DeliverySpec } from "../../../platform/eventing/delivery.ts";
import { parseTriggerFile } from "../../../platform/eventing/triggers.ts";
import { cloudEventRoute } from "../../../platform/fn/hono.ts";
import { createDeliver, EmbeddedBroker, type Deliver } from "../../../platform/local/broker/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { startSubscriber, waitFor, type Subscriber } from "./support.ts";

const log = createLogger("silent");
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function makeBroker(opts: {
  subscriber: { uri?: string; ref?: { kind: string; name: string } };
  delivery: DeliverySpec;
  deliver?: Deliver;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  concurrency?: number;
  registry?: Registry;
}): EmbeddedBroker {
  const file = parseTriggerFile({
    delivery: opts.delivery,
    triggers: [{ name: "t1", filters: [{ exact: { type: "com.example.work" } }], subscriber: opts.subscriber }],
  });
  const broker = new EmbeddedBroker({
    dbPath: ":memory:",
    triggers: file.triggers,
    deliver: opts.deliver ?? createDeliver({}),
    log,
    metrics: opts.registry,
    now: opts.now,
    sleep: opts.sleep,
    concurrency: opts.concurrency,
  });
  cleanups.push(() => broker.stop());
  return broker;
}

async function sub(reply: Parameters<typeof startSubscriber>[0]): Promise<Subscriber> {
  const s = await startSubscriber(reply);
  cleanups.push(() => s.close());
  return s;
}

const work = (id: string, data: unknown = { n: 1 }) =>
  new CloudEvent<unknown>({ id, source: "/tests/delivery", type: "com.example.work", datacontenttype: "application/json", data });

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want));
  return v?.value ?? 0;
}

describe("retries", () => {
  const policies: [string, DeliverySpec, number[]][] = [
    ["exponential PT0.5S waits 1 s then 2 s", { retry: 5, backoffPolicy: "exponential", backoffDelay: "PT0.5S" }, [1_000, 2_000]],
    ["linear PT0.3S waits 0.3 s then 0.6 s", { retry: 5, backoffPolicy: "linear", backoffDelay: "PT0.3S" }, [300, 600]],
    ["no backoff policy retries at once", { retry: 5 }, [0, 0]],
  ];
  it.each(policies)("503, 429, then 200: delivered on the third attempt; %s", async (_name, delivery, gaps) => {
    const clock = { t: 1_000_000 };
    const times: number[] = [];
    const statuses = [503, 429, 200];
    const registry = new Registry();
    const broker = makeBroker({
      subscriber: { ref: { kind: "Service", name: "fn" } },
      delivery,
      registry,
      now: () => clock.t,
      sleep: async (ms) => {
        clock.t += ms;
      },
      deliver: async () => {
        times.push(clock.t);
        return { status: statuses[times.length - 1] ?? 500 };
      },
    });
    await broker.start();
    await broker.emit(work("r1"));
    await broker.idle();
    expect(times.slice(1).map((t, i) => t - (times[i] ?? 0))).toEqual(gaps);
    const [ev] = broker.eventsById("r1");
    expect(ev?.deliveries).toEqual([expect.objectContaining({ state: "delivered", attempts: 3, lastStatus: 200 })]);
    expect(await metricValue(registry, "flywheel_broker_deliveries_total", { trigger: "t1", outcome: "retry" })).toBe(2);
    expect(await metricValue(registry, "flywheel_broker_deliveries_total", { trigger: "t1", outcome: "success" })).toBe(1);
    expect(broker.deadLetters()).toEqual([]);
  });

  const statuses: [number, number][] = [
    [404, 3],
    [408, 3],
    [409, 3],
    [429, 3],
    [500, 3],
    [503, 3],
    [400, 1],
    [401, 1],
    [403, 1],
    [422, 1],
    [301, 1],
    [302, 1],
  ];
  it.each(statuses)("status %i is tried %i time(s) with retry: 2", async (status, attempts) => {
    let calls = 0;
    const broker = makeBroker({
      subscriber: { ref: { kind: "Service", name: "fn" } },
      delivery: { retry: 2 },
      deliver: async () => {
        calls++;
        return { status, body: "" };
      },
    });
    await broker.start();
    await broker.emit(work(`s${status}`));
    await broker.idle();
    expect(calls).toBe(attempts);
    expect(broker.deadLetters()).toEqual([expect.objectContaining({ eventId: `s${status}`, errorCode: status, attempts })]);
  });
});

describe("dead letters over real HTTP", () => {
  it("a 400 is dead-lettered at once; the deadLetterSink gets the event with knativeerror* extensions", async () => {
    const fn = await sub(() => ({ status: 400, body: '{"error":"invalid input: data.model: Required"}' }));
    const dls = await sub(() => ({ status: 202 }));
    const registry = new Registry();
    const broker = makeBroker({
      subscriber: { uri: fn.url },
      delivery: { retry: 5, backoffPolicy: "exponential", backoffDelay: "PT0.5S", deadLetterSink: { uri: dls.url } },
      registry,
    });
    await broker.start();
    await broker.emit(work("bad-1", { n: 2 }));
    await broker.idle();
    expect(fn.received).toHaveLength(1);
    expect(dls.received).toHaveLength(1);
    const got = dls.received[0];
    expect(got?.headers).toMatchObject({
      "ce-id": "bad-1",
      "ce-type": "com.example.work",
      "ce-source": "/tests/delivery",
      "ce-knativeerrordest": fn.url,
      "ce-knativeerrorcode": "400",
      "ce-knativeerrordata": Buffer.from('{"error":"invalid input: data.model: Required"}').toString("base64"),
    });
    expect(JSON.parse(got?.body ?? "null")).toEqual({ n: 2 });
    const [dl] = broker.deadLetters();
    expect(dl).toMatchObject({ eventId: "bad-1", trigger: "t1", errorCode: 400, errorDest: fn.url, attempts: 1, state: "dead" });
    expect(await metricValue(registry, "flywheel_broker_deliveries_total", { trigger: "t1", outcome: "rejected" })).toBe(1);
    expect(await metricValue(registry, "flywheel_broker_deliveries_total", { trigger: "t1/dead-letter-sink", outcome: "success" })).toBe(1);
    expect(broker.eventsById("bad-1")[0]?.deliveries.map((d) => [d.kind, d.state])).toEqual([
      ["subscriber", "dead_lettered"],
      ["dead_letter_sink", "delivered"],
    ]);
  });

  it("retries exhausted: 1 + retry attempts, then a dead letter carrying the last status and body", async () => {
    const fn = await sub(() => ({ status: 503, body: "upstream busy" }));
    const dls = await sub(() => ({ status: 200 }));
    const broker = makeBroker({
      subscriber: { uri: fn.url },
      delivery: { retry: 2, backoffPolicy: "linear", backoffDelay: "PT0.02S", deadLetterSink: { uri: dls.url } },
    });
    await broker.start();
    await broker.emit(work("busy-1"));
    await broker.idle();
    expect(fn.received).toHaveLength(3);
    const gaps = fn.received.slice(1).map((r, i) => r.at - (fn.received[i]?.at ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(15);
    expect(gaps[1]).toBeGreaterThanOrEqual(35);
    expect(dls.received[0]?.headers).toMatchObject({
      "ce-knativeerrorcode": "503",
      "ce-knativeerrordata": Buffer.from("upstream busy").toString("base64"),
    });
    expect(broker.deadLetters()[0]).toMatchObject({ errorCode: 503, attempts: 3 });
  });

  it("a transport error (nothing listening) is retried, then dead-lettered as code 500 'dispatch error'", async () => {
    const gone = await startSubscriber();
    const url = gone.url;
    await gone.close();
    const broker = makeBroker({ subscriber: { uri: url }, delivery: { retry: 1 } });
    await broker.start();
    await broker.emit(work("down-1"));
    await broker.idle();
    const [dl] = broker.deadLetters();
    expect(dl).toMatchObject({ errorCode: 500, attempts: 2, errorDest: url });
    expect(Buffer.from(dl?.errorData ?? "", "base64").toString()).toMatch(/^dispatch error: /);
  });

  it("a subscriber slower than delivery.timeout is a transport error", async () => {
    const slow = await sub(() => ({ status: 200, delayMs: 1_000 }));
    const broker = makeBroker({ subscriber: { uri: slow.url }, delivery: { retry: 0, timeout: "PT0.1S" } });
    await broker.start();
    await broker.emit(work("slow-1"));
    await broker.idle();
    const [dl] = broker.deadLetters();
    expect(dl?.errorCode).toBe(500);
    expect(Buffer.from(dl?.errorData ?? "", "base64").toString()).toContain("timeout after 100 ms");
  });

  it("without a deadLetterSink the dead letter is still kept by the broker", async () => {
    const broker = makeBroker({
      subscriber: { ref: { kind: "Service", name: "missing" } },
      delivery: { retry: 0 },
    });
    await broker.start();
    await broker.emit(work("nodls-1"));
    await broker.idle();
    expect(broker.deadLetters()).toEqual([expect.objectContaining({ eventId: "nodls-1", errorCode: 404 })]);
  });
});

describe("replay and discard", () => {
  it("replay redelivers to the failed trigger from attempt 1; a second failure comes back as a dead letter", async () => {
    let healthy = false;
    const fn = await sub(() => (healthy ? { status: 200 } : { status: 500, body: "down" }));
    const broker = makeBroker({ subscriber: { uri: fn.url }, delivery: { retry: 0 } });
    await broker.start();
    await broker.emit(work("rp-1"));
    await broker.emit(work("rp-2"));
    await broker.idle();
    const dls = broker.deadLetters();
    expect(dls.map((d) => d.eventId).sort()).toEqual(["rp-1", "rp-2"]);

    healthy = true;
    const one = dls.find((d) => d.eventId === "rp-1");
    await broker.replayDeadLetter(one?.id ?? "");
    await broker.idle();
    expect(fn.received.filter((r) => r.headers["ce-id"] === "rp-1")).toHaveLength(2);
    expect(broker.eventsById("rp-1")[0]?.deliveries[0]).toMatchObject({ state: "delivered", attempts: 1 });
    expect(broker.deadLetters().map((d) => d.eventId)).toEqual(["rp-2"]);
    expect(broker.deadLetters({ state: "replayed" }).map((d) => d.eventId)).toEqual(["rp-1"]);
    // Replaying again is a no-op.
    await broker.replayDeadLetter(one?.id ?? "");
    await broker.idle();
    expect(fn.received.filter((r) => r.headers["ce-id"] === "rp-1")).toHaveLength(2);

    healthy = false;
    const two = broker.deadLetters()[0];
    await broker.replayDeadLetter(two?.id ?? "");
    await broker.idle();
    expect(broker.deadLetters()).toEqual([expect.objectContaining({ eventId: "rp-2", count: 2, state: "dead" })]);
  });

  it("discard removes it from the queue; unknown ids are NotFoundError", async () => {
    const broker = makeBroker({ subscriber: { ref: { kind: "Service", name: "fn" } }, delivery: {}, deliver: async () => ({ status: 400 }) });
    await broker.start();
    await broker.emit(work("d-1"));
    await broker.idle();
    const id = broker.deadLetters()[0]?.id ?? "";
    broker.discardDeadLetter(id);
    expect(broker.deadLetters()).toEqual([]);
    expect(broker.deadLetters({ state: "discarded" }).map((d) => d.id)).toEqual([id]);
    expect(() => broker.discardDeadLetter("nope")).toThrow(NotFoundError);
    await expect(broker.replayDeadLetter("nope")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("the in-process deadLetter function as deadLetterSink shares the broker's queue: one row per dead letter", async () => {
    const holder: { broker?: EmbeddedBroker } = {};
    const deliver: Deliver = (s, m, o) => {
      const store = holder.broker?.deadLetterStore;
      if (!store) return Promise.resolve({ status: 503 });
      const services = {
        "dead-letter": cloudEventRoute("deadLetter", deadLetter, { store, log, now: Date.now, bus: { emit: async () => undefined } }),
        fn: new Hono().post("/", (c) => c.json({ error: "nope" }, 422)),
      };
      return createDeliver({ services })(s, m, o);
    };
    const broker = makeBroker({
      subscriber: { ref: { kind: "Service", name: "fn" } },
      delivery: { deadLetterSink: { ref: { kind: "Service", name: "dead-letter" } } },
      deliver,
    });
    holder.broker = broker;
    await broker.start();
    await broker.emit(work("fn-dl-1"));
    await broker.idle();
    expect(broker.deadLetters()).toEqual([
      expect.objectContaining({ eventId: "fn-dl-1", errorCode: 422, errorDest: "http://fn.flywheel.svc.cluster.local", count: 1 }),
    ]);
    expect(broker.eventsById("fn-dl-1")[0]?.deliveries.map((d) => d.state)).toEqual(["dead_lettered", "delivered"]);
  });
});

describe("bounded concurrency", () => {
  it("never has more than `concurrency` deliveries in flight, and delivers everything", async () => {
    let inFlight = 0;
    let peak = 0;
    const broker = makeBroker({
      subscriber: { ref: { kind: "Service", name: "fn" } },
      delivery: {},
      concurrency: 3,
      deliver: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 10));
        inFlight--;
        return { status: 200 };
      },
    });
    await broker.start();
    for (let i = 0; i < 30; i++) await broker.emit(work(`c-${i}`));
    await broker.idle();
    expect(peak).toBe(3);
    const delivered = broker.recentEvents({ limit: 100 }).filter((e) => e.deliveries[0]?.state === "delivered");
    expect(delivered).toHaveLength(30);
  });

  it("a new event's delivery is sent right after its commit, in flight at attempt 1, with no claim turn; past the free slots it waits", async () => {
    const sent: string[] = [];
    const release: (() => void)[] = [];
    const broker = makeBroker({
      subscriber: { ref: { kind: "Service", name: "fn" } },
      delivery: {},
      concurrency: 1,
      deliver: async (_s, m) => {
        sent.push(m.headers["ce-id"] ?? "");
        await new Promise<void>((r) => release.push(r));
        return { status: 200 };
      },
    });
    await broker.start();
    await broker.emit(work("now-1"));
    // Before any later turn of the event loop: already handed to the subscriber, and stored as in flight.
    expect(sent).toEqual(["now-1"]);
    expect(broker.eventsById("now-1")[0]?.deliveries[0]).toMatchObject({ state: "inflight", attempts: 1 });
    await broker.emit(work("now-2"));
    expect(sent).toEqual(["now-1"]);
    expect(broker.eventsById("now-2")[0]?.deliveries[0]).toMatchObject({ state: "pending", attempts: 0 });
    release.shift()?.();
    await waitFor(() => sent.length === 2, 5_000, "the second delivery");
    release.shift()?.();
    await broker.idle();
    expect(broker.recentEvents().map((e) => e.deliveries[0]?.state)).toEqual(["delivered", "delivered"]);
  });

  it("on a file (WAL checkpoints in a worker thread): a reopened broker has every accepted event, delivered", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "broker-file-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = parseTriggerFile({ triggers: [{ name: "t1", filters: [{ exact: { type: "com.example.work" } }], subscriber: { ref: { kind: "Service", name: "fn" } } }] });
    const open = (): EmbeddedBroker =>
      new EmbeddedBroker({ dbPath: path.join(dir, "broker.db"), triggers: file.triggers, deliver: async () => ({ status: 200 }), log });
    const first = open();
    await first.start();
    await Promise.all(Array.from({ length: 20 }, (_, i) => first.emit(work(`wal-${i}`))));
    await first.idle();
    await first.stop();
    const again = open();
    cleanups.push(() => again.stop());
    expect(again.recentEvents({ limit: 100 })).toHaveLength(20);
    expect(again.recentEvents({ limit: 100 }).every((e) => e.deliveries[0]?.state === "delivered")).toBe(true);
  });

  it("events accepted before start() wait, and are delivered once it starts; pending gauge follows", async () => {
    const registry = new Registry();
    const got: string[] = [];
    const broker = makeBroker({
      subscriber: { ref: { kind: "Service", name: "fn" } },
      delivery: {},
      registry,
      deliver: async (_s, m) => {
        got.push(m.headers["ce-id"] ?? "");
        return { status: 204 };
      },
    });
    await broker.emit(work("early-1"));
    await broker.emit(work("early-2"));
    expect(await metricValue(registry, "flywheel_broker_pending_deliveries", {})).toBe(2);
    expect(broker.ready()).toBe(false);
    await broker.start();
    expect(broker.ready()).toBe(true);
    await waitFor(() => got.length === 2, 5_000, "early deliveries");
    await broker.idle();
    expect(await metricValue(registry, "flywheel_broker_pending_deliveries", {})).toBe(0);
    await broker.stop();
    expect(broker.ready()).toBe(false);
    await expect(broker.emit(work("late-1"))).rejects.toThrow(/stopped/);
  });

  it("stop() closes the delivery client's kept-alive sockets to subscribers (they do not wait for the idle timeout)", async () => {
    const open = new Set<Socket>();
    const server = createServer((_req, res) => res.end()).on("connection", (s: Socket) => {
      open.add(s);
      s.once("close", () => open.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const addr = server.address();
    const broker = makeBroker({ subscriber: { uri: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/` }, delivery: {} });
    await broker.start();
    await broker.emit(work("ka-1"));
    await broker.idle();
    expect(open.size).toBe(1); // kept alive for the next delivery
    await broker.stop();
    // The client's idle timeout is 4 s: well before it, the socket is gone.
    await waitFor(() => open.size === 0, 2_000, "the kept-alive socket closed");
  });
});

describe("robustness", () => {
  it("a corrupted delivery row is parked as failed and does not block the others", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flywheel-broker-corrupt-"));
    const dbPath = path.join(dir, "b.db");
    const got: string[] = [];
    const file = parseTriggerFile({ triggers: [{ name: "t1", subscriber: { ref: { kind: "Service", name: "fn" } } }] });
    const opts = {
      dbPath,
      triggers: file.triggers,
      log,
      deliver: async (_s: unknown, m: { headers: Record<string, string> }) => {
        got.push(m.headers["ce-id"] ?? "");
        return { status: 200 };
      },
    };
    const before = new EmbeddedBroker(opts);
    await before.emit(work("ok-1"));
    await before.emit(work("broken-1"));
    await before.emit(work("ok-2"));
    await before.stop();
    const raw = new Database(dbPath);
    raw.prepare("UPDATE deliveries SET delivery = '{not json' WHERE event_seq = (SELECT seq FROM events WHERE id = 'broken-1')").run();
    raw.close();

    const after = new EmbeddedBroker(opts);
    cleanups.push(async () => {
      await after.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await after.start();
    await after.idle();
    expect(got.sort()).toEqual(["ok-1", "ok-2"]);
    expect(after.eventsById("broken-1")[0]?.deliveries[0]).toMatchObject({ state: "failed", lastError: expect.stringMatching(/unreadable/) });
  });
});

describe("metrics", () => {
  it("exposes the four broker metrics, and a second broker on the same registry reuses them", async () => {
    const registry = new Registry();
    const a = makeBroker({ subscriber: { ref: { kind: "Service", name: "fn" } }, delivery: {}, registry, deliver: async () => ({ status: 200 }) });
    const b = makeBroker({ subscriber: { ref: { kind: "Service", name: "fn" } }, delivery: {}, registry, deliver: async () => ({ status: 200 }) });
    await a.start();
    await b.start();
    await a.emit(work("m-1"));
    await b.emit(work("m-2"));
    await a.idle();
    await b.idle();
    const text = await registry.metrics();
    expect(text).toContain('flywheel_broker_events_received_total{type="com.example.work"} 2');
    expect(text).toContain('flywheel_broker_deliveries_total{trigger="t1",outcome="success"} 2');
    expect(text).toContain('flywheel_broker_delivery_duration_seconds_count{trigger="t1"} 2');
    expect(text).toMatch(/flywheel_broker_pending_deliveries 0/);
  });
});

describe("delivery format", () => {
  it("format: json delivers in structured mode; binary data always goes structured, as data_base64", async () => {
    const fn = await sub(() => ({ status: 200 }));
    const broker = makeBroker({ subscriber: { uri: fn.url }, delivery: { format: "json" } });
    await broker.start();
    await broker.emit(work("fmt-1", { n: 7 }));
    await broker.idle();
    expect(fn.received[0]?.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(fn.received[0]?.body ?? "null")).toMatchObject({ id: "fmt-1", specversion: "1.0", data: { n: 7 } });

    const bin = await sub(() => ({ status: 200 }));
    const b2 = makeBroker({ subscriber: { uri: bin.url }, delivery: {} });
    await b2.start();
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    await b2.emit(new CloudEvent<unknown>({ id: "bin-1", source: "/tests", type: "com.example.work", datacontenttype: "application/octet-stream", data: bytes }));
    await b2.idle();
    expect(bin.received[0]?.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(bin.received[0]?.body ?? "null")).toMatchObject({ id: "bin-1", data_base64: bytes.toString("base64") });
  });
});
