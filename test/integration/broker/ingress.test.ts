// The broker ingress over real HTTP: binary and structured in, binary out to a real subscriber; duplicates; garbage.
import { request } from "node:http";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEvent } from "../../../platform/events/envelope.ts";
import { parseTriggerFile } from "../../../platform/eventing/triggers.ts";
import { createDeliver, EmbeddedBroker } from "../../../platform/local/broker/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { serveApp, startSubscriber, waitFor, type Subscriber } from "./support.ts";

let sub: Subscriber;
let broker: EmbeddedBroker;
let ingress: { url: string; close: () => Promise<void> };
let events: string;
const registry = new Registry();

beforeAll(async () => {
  sub = await startSubscriber();
  const file = parseTriggerFile({
    delivery: { retry: 2, backoffPolicy: "linear", backoffDelay: "PT0.01S" },
    triggers: [
      { name: "all-flywheel", filters: [{ prefix: { type: "dev.flywheel." } }], subscriber: { uri: sub.url } },
      { name: "tests-only", filter: { attributes: { type: "com.example.test", flavor: "" } }, subscriber: { uri: sub.url } },
    ],
  });
  broker = new EmbeddedBroker({
    dbPath: ":memory:",
    triggers: file.triggers,
    deliver: createDeliver({}),
    log: createLogger("silent"),
    metrics: registry,
  });
  await broker.start();
  ingress = await serveApp(new Hono().route("/events", broker.routes()));
  events = `${ingress.url}/events`;
});

afterAll(async () => {
  await ingress.close();
  await broker.stop();
  await sub.close();
});

const byId = (id: string) => sub.received.filter((r) => r.headers["ce-id"] === id);

describe("accepting CloudEvents", () => {
  it("binary mode: the subscriber gets a binary-mode event with the same id, attributes, extensions and data", async () => {
    const res = await fetch(events, {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": "bin-1",
        "ce-source": "/tests/ingress",
        "ce-type": "com.example.test",
        "ce-subject": "iris",
        "ce-time": "2026-01-02T03:04:05.000Z",
        "ce-flavor": "vanilla",
        "ce-traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "content-type": "application/json",
      },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: "bin-1", source: "/tests/ingress", duplicate: false, deliveries: 1 });
    await waitFor(() => byId("bin-1").length === 1, 10_000, "delivery of bin-1");
    const got = byId("bin-1")[0];
    expect(got?.headers).toMatchObject({
      "ce-specversion": "1.0",
      "ce-source": "/tests/ingress",
      "ce-type": "com.example.test",
      "ce-subject": "iris",
      "ce-time": "2026-01-02T03:04:05.000Z",
      "ce-flavor": "vanilla",
      "ce-traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
    expect(got?.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(got?.body ?? "null")).toEqual({ hello: "world" });
  });

  it("structured mode in, binary mode out", async () => {
    const res = await fetch(events, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify({
        specversion: "1.0",
        id: "str-1",
        source: "/tests/ingress",
        type: "com.example.test",
        flavor: "mint",
        datacontenttype: "application/json",
        data: { n: 42 },
      }),
    });
    expect(res.status).toBe(202);
    await waitFor(() => byId("str-1").length === 1, 10_000, "delivery of str-1");
    const got = byId("str-1")[0];
    expect(got?.headers).toMatchObject({ "ce-specversion": "1.0", "ce-type": "com.example.test", "ce-flavor": "mint" });
    expect(got?.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(got?.body ?? "null")).toEqual({ n: 42 });
  });

  it("emit() takes the same path in-process", async () => {
    const ce = buildEvent(
      "model.promotion.requested",
      { model: "iris", action: "promote", version: "3" },
      { source: "/tests/emit", id: "emit-1" },
    );
    await broker.emit(ce);
    await waitFor(() => byId("emit-1").length === 1, 10_000, "delivery of emit-1");
    expect(byId("emit-1")[0]?.headers["ce-type"]).toBe("dev.flywheel.model.promotion.requested");
  });

  it("the same (source, id) again: 202, stored once, delivered once", async () => {
    const post = () =>
      fetch(events, {
        method: "POST",
        headers: { "ce-specversion": "1.0", "ce-id": "dup-1", "ce-source": "/tests/dup", "ce-type": "com.example.test", "ce-flavor": "x" },
      });
    const first = await post();
    const second = await post();
    const third = await post();
    expect([first.status, second.status, third.status]).toEqual([202, 202, 202]);
    expect(await second.json()).toMatchObject({ duplicate: true, deliveries: 0 });
    await broker.idle();
    expect(byId("dup-1")).toHaveLength(1);
    expect(broker.eventsById("dup-1")).toHaveLength(1);
    // A different source with the same id is a different event.
    const other = await fetch(events, {
      method: "POST",
      headers: { "ce-specversion": "1.0", "ce-id": "dup-1", "ce-source": "/tests/other", "ce-type": "com.example.test", "ce-flavor": "x" },
    });
    expect(await other.json()).toMatchObject({ duplicate: false, deliveries: 1 });
    await broker.idle();
    expect(byId("dup-1")).toHaveLength(2);
  });

  it("an event no trigger matches is stored and not delivered", async () => {
    const res = await fetch(events, {
      method: "POST",
      headers: { "ce-specversion": "1.0", "ce-id": "nomatch-1", "ce-source": "/tests", "ce-type": "com.example.test" },
    });
    expect(await res.json()).toMatchObject({ deliveries: 0 });
    await broker.idle();
    expect(byId("nomatch-1")).toHaveLength(0);
    expect(broker.recentEvents({ type: "com.example.test" }).map((e) => e.id)).toContain("nomatch-1");
  });

  it("lists recent events with their deliveries, newest first, filtered by type", async () => {
    await broker.idle();
    const recent = broker.recentEvents({ type: "com.example.test", limit: 100 });
    const bin = recent.find((e) => e.id === "bin-1");
    expect(bin?.deliveries).toEqual([expect.objectContaining({ trigger: "tests-only", state: "delivered", attempts: 1, lastStatus: 200 })]);
    expect(recent.every((e) => e.type === "com.example.test")).toBe(true);
    expect(recent.map((e) => e.seq)).toEqual([...recent.map((e) => e.seq)].sort((a, b) => b - a));
    expect(broker.recentEvents({ limit: 1 })).toHaveLength(1);
  });
});

/** Send raw bytes with chunked transfer encoding (no content-length), as a streaming client would. */
function postChunked(url: string, headers: Record<string, string>, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", (e) => (String(e).includes("EPIPE") || String(e).includes("ECONNRESET") ? undefined : reject(e)));
    const chunk = Buffer.alloc(64 * 1024, "a");
    for (let sent = 0; sent < size; sent += chunk.length) req.write(chunk);
    req.end();
  });
}

describe("garbage gets a 4xx naming the problem, and the broker keeps serving", () => {
  const ce = { "ce-specversion": "1.0", "ce-id": "g", "ce-source": "/tests/garbage", "ce-type": "com.example.test" };
  const big = "x".repeat(2 * 1024 * 1024);
  const cases: [string, RequestInit, number, RegExp][] = [
    ["structured body that is not JSON", { headers: { "content-type": "application/cloudevents+json" }, body: "{not json" }, 400, /body/],
    ["structured body that is an array", { headers: { "content-type": "application/cloudevents+json" }, body: "[1,2]" }, 400, /JSON object/],
    ["structured body that is empty", { headers: { "content-type": "application/cloudevents+json" }, body: "" }, 400, /body/],
    ["plain text, not a CloudEvent", { headers: { "content-type": "text/plain" }, body: "hello" }, 400, /ce-specversion/],
    ["plain JSON, not a CloudEvent", { headers: { "content-type": "application/json" }, body: '{"a":1}' }, 400, /ce-specversion.*content-type|structured mode/],
    ["empty body, no headers", { body: "" }, 400, /ce-specversion/],
    ["batched CloudEvents", { headers: { "content-type": "application/cloudevents-batch+json" }, body: "[]" }, 415, /batch/],
    [
      "binary mode missing id, source and type",
      { headers: { "ce-specversion": "1.0", "content-type": "application/json" }, body: "{}" },
      400,
      /ce-id.*ce-source.*ce-type|ce-id/,
    ],
    ["binary mode missing type", { headers: { ...ce, "ce-type": "" }, body: "" }, 400, /ce-type/],
    [
      "structured mode missing id and source",
      { headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify({ specversion: "1.0", type: "x" }) },
      400,
      /id.*source/,
    ],
    ["unsupported specversion", { headers: { ...ce, "ce-specversion": "0.3" }, body: "" }, 400, /ce-specversion.*1\.0/],
    ["ce-time that is not RFC 3339", { headers: { ...ce, "ce-time": "yesterday" }, body: "" }, 400, /ce-time: must be an RFC 3339/],
    [
      "structured time that is not RFC 3339",
      { headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify({ specversion: "1.0", id: "g", source: "/s", type: "t", time: "soon" }) },
      400,
      /time: must be an RFC 3339/,
    ],
    ["invalid extension name", { headers: { ...ce, "ce-bad_ext": "x" }, body: "" }, 400, /bad_ext/],
    ["2 MiB binary body", { headers: { ...ce, "content-type": "application/json" }, body: big }, 413, /1 MiB|bytes/],
    [
      "2 MiB structured body",
      { headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify({ specversion: "1.0", id: "g", source: "/s", type: "t", data: big }) },
      413,
      /bytes/,
    ],
  ];

  it.each(cases)("%s", async (_name, init, status, message) => {
    const res = await fetch(events, { method: "POST", ...init });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: expect.stringMatching(message) });
  });

  it("2 MiB chunked, without content-length -> 413", async () => {
    const res = await postChunked(events, { ...ce, "content-type": "application/json" }, 2 * 1024 * 1024);
    expect(res.status).toBe(413);
  });

  it("GET is 405", async () => {
    const res = await fetch(events);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("after all that, a good event is still accepted and delivered; the rejects were counted", async () => {
    const res = await fetch(events, { method: "POST", headers: { ...ce, "ce-id": "after-garbage", "ce-flavor": "ok" } });
    expect(res.status).toBe(202);
    await waitFor(() => byId("after-garbage").length === 1, 10_000, "delivery after garbage");
    const metrics = await registry.getMetricsAsJSON();
    const rejected = metrics.find((m) => m.name === "flywheel_broker_ingress_rejected_total");
    const codes = (rejected?.values ?? []).map((v) => String(v.labels.code));
    expect(codes).toEqual(expect.arrayContaining(["400", "413", "415", "405"]));
    expect(broker.eventsById("g")).toHaveLength(0);
  });
});
