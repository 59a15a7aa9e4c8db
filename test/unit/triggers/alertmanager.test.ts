// Alertmanager webhook trigger: auth, payload validation, one event per alert, dedupe ids, bus failures -> 503.
import type { AddressInfo } from "node:net";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { describe, expect, it } from "vitest";
import { parseEventAs, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import type { EventBus } from "../../../platform/ports.ts";
import { alertEventId, alertmanagerRoutes, registerAlertmanagerTrigger } from "../../../triggers/alertmanager/index.ts";

const TOKEN = "am-token-0123456789abcdef";
const log = createLogger("silent");

class MemoryBus implements EventBus {
  readonly events: AnyCloudEvent[] = [];
  fail = false;
  async emit(e: AnyCloudEvent): Promise<void> {
    if (this.fail) throw new Error("broker down");
    this.events.push(e);
  }
}

const alert = (over: Record<string, unknown> = {}) => ({
  status: "firing",
  labels: { alertname: "ModelDriftDetected", model: "iris", version: "3", severity: "warning" },
  annotations: { summary: "Model iris version 3 is drifting" },
  startsAt: "2026-11-29T20:00:00.000Z",
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "http://prometheus:9090/graph?g0.expr=...",
  fingerprint: "c4a1b2d3e4f50617",
  ...over,
});

const payload = (alerts: unknown[], over: Record<string, unknown> = {}) => ({
  version: "4",
  groupKey: '{}:{alertname="ModelDriftDetected", model="iris"}',
  truncatedAlerts: 0,
  status: "firing",
  receiver: "flywheel",
  groupLabels: { alertname: "ModelDriftDetected", model: "iris" },
  commonLabels: { alertname: "ModelDriftDetected", model: "iris" },
  commonAnnotations: {},
  externalURL: "http://alertmanager:9093",
  alerts,
  ...over,
});

function setup() {
  const bus = new MemoryBus();
  const app = alertmanagerRoutes({ bus, token: TOKEN, log, now: () => new Date("2026-11-29T20:01:00Z") });
  const post = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    app.request("/", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return { bus, post };
}

describe("alertmanagerRoutes auth", () => {
  it.each([
    ["no header", {}],
    ["wrong token", { authorization: "Bearer nope-nope-nope-nope" }],
    ["basic scheme", { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` }],
    ["token prefix", { authorization: `Bearer ${TOKEN.slice(0, 10)}` }],
  ])("%s -> 401 and nothing emitted", async (_name, headers) => {
    const { bus, post } = setup();
    const res = await post(payload([alert()]), headers);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(bus.events).toHaveLength(0);
  });
});

describe("alertmanagerRoutes payload", () => {
  it.each([
    ["not JSON", "{nope", "body"],
    ["old version", payload([alert()], { version: "3" }), "version"],
    ["alerts missing", { ...payload([]), alerts: undefined }, "alerts"],
    ["fingerprint missing", payload([{ ...alert(), fingerprint: undefined }]), "alerts.0.fingerprint"],
    ["alertname missing", payload([alert({ labels: { model: "iris" } })]), "alerts.0.labels.alertname"],
    ["bad status", payload([alert(), alert({ status: "pending" })]), "alerts.1.status"],
    ["label not a string", payload([alert({ labels: { alertname: "X", model: 3 } })]), "alerts.0.labels.model"],
  ])("%s -> 400 naming %s", async (_name, body, field) => {
    const { bus, post } = setup();
    const res = await post(body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { issues: { field: string }[] };
    expect(json.issues.map((i) => i.field)).toContain(field);
    expect(bus.events).toHaveLength(0);
  });

  it("emits one validated event per alert, typed by the alert's own status", async () => {
    const { bus, post } = setup();
    const res = await post(payload([alert(), alert({ status: "resolved", fingerprint: "ffff", endsAt: "2026-11-29T20:00:30Z", labels: { alertname: "ModelDriftDetected", model: "wine" } })]));
    expect(res.status).toBe(200);
    expect(bus.events.map((e) => e.type)).toEqual(["dev.flywheel.alert.firing", "dev.flywheel.alert.resolved"]);
    const first = parseEventAs("alert.firing", bus.events[0] as AnyCloudEvent);
    expect(first.data).toMatchObject({ alertname: "ModelDriftDetected", fingerprint: "c4a1b2d3e4f50617", labels: { model: "iris", version: "3" }, receiver: "flywheel" });
    expect(first.subject).toBe("iris");
    expect(first.source).toBe("/flywheel/triggers/alertmanager");
    expect(parseEventAs("alert.resolved", bus.events[1] as AnyCloudEvent).data.labels.model).toBe("wine");
  });

  it("an empty alert list is fine and emits nothing", async () => {
    const { bus, post } = setup();
    expect((await post(payload([]))).status).toBe(200);
    expect(bus.events).toHaveLength(0);
  });
});

describe("event ids", () => {
  it("repeats and HA duplicates get the same id; a new episode or the resolution a new one", async () => {
    const { bus, post } = setup();
    await post(payload([alert(), alert()])); // HA-style duplicate inside one payload
    await post(payload([alert({ annotations: { summary: "changed text" } })])); // repeat_interval re-send
    await post(payload([alert({ startsAt: "2026-11-29T22:00:00.000Z" })])); // new episode
    await post(payload([alert({ status: "resolved" })]));
    const ids = bus.events.map((e) => e.id);
    expect(ids).toHaveLength(4);
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
    expect(ids[0]).toBe(alertEventId({ fingerprint: "c4a1b2d3e4f50617", startsAt: "2026-11-29T20:00:00.000Z", status: "firing" }));
  });
});

describe("bus failure", () => {
  it("answers 503 so Alertmanager retries, and nothing else is a 5xx", async () => {
    const { bus, post } = setup();
    bus.fail = true;
    const res = await post(payload([alert()]));
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).not.toContain("broker down");
  });
});

describe("functions-framework target alertmanagerTrigger", () => {
  it("serves the same route at / with the same semantics", async () => {
    const bus = new MemoryBus();
    registerAlertmanagerTrigger(() => ({ bus, token: TOKEN, log }));
    const server = getTestServer("alertmanagerTrigger");
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const ok = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(payload([alert()])) });
      expect(ok.status).toBe(200);
      const denied = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload([alert()])) });
      expect(denied.status).toBe(401);
      expect(bus.events).toHaveLength(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
