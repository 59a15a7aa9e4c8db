// Ingress refuses events it could never deliver (issue 17 items 7 and 8), and the delivery and dead-letter path copes
// with such events already stored: real HTTP in, real subscribers and dead-letter sink out.
import { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromStructured } from "../../../platform/events/envelope.ts";
import { decodeErrorData, KNATIVE_ERROR_DATA } from "../../../platform/eventing/delivery.ts";
import { parseTriggerFile } from "../../../platform/eventing/triggers.ts";
import { createDeliver, EmbeddedBroker } from "../../../platform/local/broker/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { serveApp, startSubscriber, waitFor, type Subscriber } from "./support.ts";

let sub: Subscriber;
let sink: Subscriber;
let broker: EmbeddedBroker;
let ingress: { url: string; close: () => Promise<void> };
let events: string;

beforeAll(async () => {
  // The subscriber refuses everything with Flywheel's JSON error, as a function whose validation fails would.
  sub = await startSubscriber(() => ({ status: 400, body: JSON.stringify({ error: "data.kind: Invalid option", code: "INVALID" }) }));
  sink = await startSubscriber();
  const file = parseTriggerFile({
    delivery: { retry: 0, backoffPolicy: "linear", backoffDelay: "PT0.01S", deadLetterSink: { uri: sink.url } },
    triggers: [{ name: "everything", filters: [{ prefix: { type: "com.example." } }], subscriber: { uri: sub.url } }],
  });
  broker = new EmbeddedBroker({ dbPath: ":memory:", triggers: file.triggers, deliver: createDeliver({}), log: createLogger("silent"), metrics: new Registry() });
  await broker.start();
  ingress = await serveApp(new Hono().route("/events", broker.routes()));
  events = `${ingress.url}/events`;
});

afterAll(async () => {
  await ingress.close();
  await broker.stop();
  await sub.close();
  await sink.close();
});

const base = { specversion: "1.0", id: "a-1", source: "/tests/attributes", type: "com.example.test", datacontenttype: "application/json", data: { a: 1 } };
const structured = (obj: Record<string, unknown>) =>
  fetch(events, { method: "POST", headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify(obj) });
async function refused(res: Response): Promise<string[]> {
  expect(res.status).toBe(400);
  const body = (await res.json()) as { fields?: { field: string }[]; issues?: { field: string }[] };
  return (body.fields ?? body.issues ?? []).map((f) => f.field);
}

describe("ingress validates attributes", () => {
  it.each([
    ["a constructor extension", { ...base, constructor: "x" }, "constructor"],
    ["an extension shadowing the SDK's validate()", { ...base, validate: "x" }, "validate"],
    ["an upper-case extension name", { ...base, myExt: "x" }, "myExt"],
    ["a non-ASCII id", { ...base, id: "é-1" }, "id"],
    ["a non-ASCII datacontenttype", { ...base, datacontenttype: "applicatión/json" }, "datacontenttype"],
    ["a datacontenttype that is no media type", { ...base, datacontenttype: "json" }, "datacontenttype"],
    ["an object-valued extension", { ...base, extra: { a: 1 } }, "extra"],
  ])("structured: %s is 400 naming it", async (_what, event, field) => {
    expect(await refused(await structured(event))).toContain(field);
  });

  it("binary: a ce-constructor header is 400 naming it", async () => {
    const res = await fetch(events, {
      method: "POST",
      headers: { "ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "/t", "ce-type": "com.example.test", "ce-constructor": "x", "content-type": "application/json" },
      body: "{}",
    });
    expect(await refused(res)).toContain("constructor");
  });

  it("a known dev.flywheel type with bad data is 400 with the field errors; unknown types pass", async () => {
    const fields = await refused(await structured({ ...base, id: "f-1", type: "dev.flywheel.training.requested", data: { kind: "warp" } }));
    expect(fields).toContain("data.kind");
    expect(fields).toContain("data.model");
    expect((await structured({ ...base, id: "f-2", type: "dev.flywheel.something.new", data: { kind: "warp" } })).status).toBe(202);
    const ok = { ...base, id: "f-3", type: "dev.flywheel.training.requested", data: { model: "iris", command: ["/bin/true"] } };
    expect((await structured(ok)).status).toBe(202);
  });

  it("an event with a valid extension is still accepted", async () => {
    expect((await structured({ ...base, id: "ok-1", myext1: "x" })).status).toBe(202);
  });
});

describe("events already stored that headers cannot carry", () => {
  it("are delivered in structured mode and dead-lettered to the sink, with a decoded reason", async () => {
    // Stored as before ingress checked attributes: straight into the broker.
    await broker.accept(fromStructured({ ...base, id: "é-stored", constructor: "x" }));
    await waitFor(() => sink.received.some((r) => r.body.includes("é-stored")), 20_000, "the dead-letter sink got the event");
    expect(sub.received.some((r) => r.body.includes("é-stored"))).toBe(true);
    const dl = broker.deadLetters().find((d) => d.eventId === "é-stored");
    expect(dl?.reason).toBe("data.kind: Invalid option");
    expect(decodeErrorData(String(dl?.event[KNATIVE_ERROR_DATA]))).toBe("data.kind: Invalid option");
  });
});
