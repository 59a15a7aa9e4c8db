// Garbage, wrong content types, missing attributes and oversized bodies to the ingress and to infer: 4xx, never 5xx.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../../support/platform.ts";

let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform();
}, 60_000);
afterAll(async () => {
  await p?.stop();
});

const big = "x".repeat(2 * 1024 * 1024);
const ce = (extra: Record<string, string>) => ({ "ce-specversion": "1.0", "ce-id": "g1", "ce-source": "/garbage", "ce-type": "dev.flywheel.training.requested", ...extra });

const ingress: { name: string; headers: Record<string, string>; body: string; status: number; mentions: string }[] = [
  { name: "not JSON, no CloudEvent headers", headers: { "content-type": "text/plain" }, body: "hello", status: 400, mentions: "ce-specversion" },
  { name: "plain JSON", headers: { "content-type": "application/json" }, body: '{"a":1}', status: 400, mentions: "ce-specversion" },
  { name: "binary without ce-id", headers: { "ce-specversion": "1.0", "ce-source": "/x", "ce-type": "t", "content-type": "application/json" }, body: "{}", status: 400, mentions: "ce-id" },
  { name: "binary without ce-type", headers: { "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/x", "content-type": "application/json" }, body: "{}", status: 400, mentions: "ce-type" },
  { name: "structured, broken JSON", headers: { "content-type": "application/cloudevents+json" }, body: "{nope", status: 400, mentions: "JSON" },
  { name: "structured, array", headers: { "content-type": "application/cloudevents+json" }, body: "[1,2]", status: 400, mentions: "object" },
  { name: "batch mode", headers: { "content-type": "application/cloudevents-batch+json" }, body: "[]", status: 415, mentions: "batch" },
  { name: "empty body", headers: {}, body: "", status: 400, mentions: "ce-specversion" },
];

describe("broker ingress rejects what is not a CloudEvent", () => {
  it.each(ingress)("$name -> $status", async ({ headers, body, status, mentions }) => {
    const res = await p.api.raw("POST", "/events", body, headers);
    expect(res.status).toBe(status);
    expect((await res.text()).toLowerCase()).toContain(mentions.toLowerCase());
  });

  it("refuses a 2 MiB event with 413", async () => {
    const res = await p.api.raw("POST", "/events", JSON.stringify({ blob: big }), ce({ "content-type": "application/json" })).catch((e: unknown) => e);
    // The ingress may close the connection after answering 413; either way it is not accepted.
    if (res instanceof Response) expect(res.status).toBe(413);
    else expect(String(res)).toMatch(/fetch|socket|reset/i);
  });

  it("needs the token", async () => {
    const res = await fetch(`${p.url}/events`, { method: "POST", headers: ce({ "content-type": "application/json" }), body: "{}" });
    expect(res.status).toBe(401);
  });

  it("refuses a known type whose data is bad with 400 and the field errors (never a 202 and a silent dead letter)", async () => {
    const res = await p.api.raw("POST", "/events", JSON.stringify({ model: "Bad Name" }), ce({ "content-type": "application/json", "ce-id": "bad-data-1" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('"field":"data.model"');
    await p.platform.broker.idle();
    const dl = await p.api.request<{ deadLetters: { eventId: string }[] }>("GET", "/api/v1/dead-letters");
    expect(dl.deadLetters.find((d) => d.eventId === "bad-data-1")).toBeUndefined();
  });
});

const inferCases: { name: string; body: string; type: string; status: number; mentions: string }[] = [
  { name: "broken JSON", body: "{", type: "application/json", status: 400, mentions: "json" },
  { name: "a number", body: "42", type: "application/json", status: 400, mentions: "" },
  { name: "unknown deployment", body: '{"a":1}', type: "application/json", status: 404, mentions: "" },
  { name: "binary content type", body: "\u0000\u0001", type: "application/octet-stream", status: 415, mentions: "" },
];

describe("infer rejects bad input", () => {
  it.each(inferCases)("$name -> $status", async ({ body, type, status, mentions }) => {
    const res = await p.api.raw("POST", "/infer/nope", body, { "content-type": type });
    expect(res.status).toBe(status);
    expect((await res.text()).toLowerCase()).toContain(mentions);
  });

  it("refuses an oversized body with 413", async () => {
    const res = await p.api.raw("POST", "/infer/nope", JSON.stringify({ x: big }), { "content-type": "application/json" }).catch((e: unknown) => e);
    if (res instanceof Response) expect(res.status).toBe(413);
    else expect(String(res)).toMatch(/fetch|socket|reset/i);
  });
});

describe("after all that", () => {
  // A fresh socket each: fetch's pool may hold a connection the server closed after a 413, which says nothing
  // about the server.
  const status = (path: string) =>
    new Promise<number>((resolve, reject) => {
      http.get(`${p.url}${path}`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject);
    });
  it("keeps serving", async () => {
    expect(await status("/healthz")).toBe(200);
    expect(await status("/readyz")).toBe(200);
  });
});
