// Knative mode across real processes sharing one PostgreSQL: the dead-letter function stores, a UI replica lists and
// replays (to the Broker ingress), another sees the outcome; event-log feeds both; a session and its CSRF token made on
// one UI replica work on the other, and a logout on one ends it on both.
import fs from "node:fs";
import path from "node:path";
import { CloudEvent } from "cloudevents";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { deliver, startReplicaBackdrop, type ReplicaBackdrop } from "../../support/replica-backdrop.ts";

const TOKEN = "admin-token-0123456789abcdef";
let bd: ReplicaBackdrop;
let kube: FakeKube;
let sink: EventSink;
let procs: { deadLetter: FunctionProcess; eventLog: FunctionProcess; uiA: FunctionProcess; uiB: FunctionProcess } | undefined;

beforeAll(async () => {
  [bd, kube] = await Promise.all([startReplicaBackdrop("events"), startFakeKube({ namespace: "flywheel" })]);
  sink = bd.sink;
  const kubeconfig = path.join(bd.tmp, "kubeconfig");
  fs.writeFileSync(kubeconfig, kube.kubeconfigYaml);
  const env = {
    ...bd.env,
    FLYWHEEL_AUTH_TOKEN: TOKEN,
    FLYWHEEL_SESSION_KEY: "a-session-key-every-ui-replica-shares-0123",
    FLYWHEEL_SERVING_BACKEND: "kserve",
    FLYWHEEL_TRAINING_BACKEND: "kubernetes",
    KUBECONFIG: kubeconfig,
  };
  const [deadLetter, eventLog, uiA, uiB] = await Promise.all([
    startFunction("deadLetter", env),
    startFunction("eventLog", env),
    startFunction("ui", env),
    startFunction("ui", env),
  ]);
  procs = { deadLetter, eventLog, uiA, uiB };
}, 180_000);

afterAll(async () => {
  if (procs) await Promise.all(Object.values(procs).map((p) => p.stop()));
  await kube?.close();
  await bd?.close();
});

const running = () => {
  if (!procs) throw new Error("not started");
  return procs;
};

const api = async (p: FunctionProcess, route: string, method = "GET"): Promise<{ status: number; json: Record<string, unknown> }> => {
  const res = await fetch(new URL(route, p.url), { method, headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : {};
  return { status: res.status, json: typeof json === "object" && json !== null ? Object.fromEntries(Object.entries(json)) : {} };
};

const original = new CloudEvent<unknown>({
  specversion: "1.0", id: "evt-dead-1", source: "/flywheel/functions/log-model", type: "dev.flywheel.model.logged",
  datacontenttype: "application/json", data: { model: "iris", version: "3" },
});
const deadLettered = original.cloneWith({
  knativeerrordest: "http://deploy-model.flywheel.svc.cluster.local", knativeerrorcode: 503, knativeerrordata: Buffer.from("busy").toString("base64"),
}, false);

it("a dead letter stored by the dead-letter function is listed by one UI replica, replayed from it, and seen replayed by another", async () => {
  const { deadLetter, uiA, uiB } = running();
  expect(await deliver(deadLetter, deadLettered)).toBeLessThan(300);
  expect(await deliver(deadLetter, deadLettered)).toBeLessThan(300); // redelivery: stored once

  const listed = await api(uiA, "/api/v1/dead-letters");
  expect(listed.status).toBe(200);
  const dls = listed.json.deadLetters;
  expect(Array.isArray(dls) && dls.length).toBe(1);
  const id = Array.isArray(dls) ? String((dls[0] as { id: unknown }).id) : "";

  const replayed = await api(uiB, `/api/v1/dead-letters/${id}/replay`, "POST");
  expect(replayed).toMatchObject({ status: 200, json: { id, state: "replayed" } });
  // The Broker ingress got the original event back, without the knativeerror* extensions.
  const back = sink.events.find((e) => e.id === original.id);
  expect(back).toMatchObject({ type: original.type, source: original.source, data: { model: "iris", version: "3" } });
  expect(Object.keys(back ?? {}).filter((k) => k.startsWith("knativeerror"))).toEqual([]);

  expect((await api(uiA, "/api/v1/dead-letters")).json.deadLetters).toEqual([]);
  const done = await api(uiA, "/api/v1/dead-letters?state=replayed");
  expect(done.json.deadLetters).toEqual([expect.objectContaining({ id, state: "replayed" })]);
  // A second replay from either replica is a no-op; an unknown id is a 404.
  expect((await api(uiA, `/api/v1/dead-letters/${id}/replay`, "POST")).status).toBe(200);
  expect(sink.events.filter((e) => e.id === original.id)).toHaveLength(1);
  expect((await api(uiA, "/api/v1/dead-letters/nope/replay", "POST")).status).toBe(404);
  // Without credentials a replay is refused.
  expect((await fetch(new URL(`/api/v1/dead-letters/${id}/discard`, uiA.url), { method: "POST" })).status).toBe(401);
});

it("events recorded by the event-log function show on every UI replica's activity page", async () => {
  const { eventLog, uiA, uiB } = running();
  expect(await deliver(eventLog, original)).toBeLessThan(300);
  expect(await deliver(eventLog, original)).toBeLessThan(300);
  const events = (await api(uiB, "/api/v1/events")).json.events;
  expect(events).toEqual([expect.objectContaining({ id: original.id, type: original.type })]);
  const page = await fetch(new URL("/activity", uiA.url), { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain(original.id);
});

/** A browser's cookie jar, enough for fw_session and fw_csrf. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (pair && eq > 0) this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

it("a UI session and its CSRF token made on one replica work on another; a logout on one ends it on both", async () => {
  const { uiA, uiB } = running();
  const jar = new Jar();
  const loginPage = await fetch(new URL("/login", uiA.url));
  jar.take(loginPage);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())?.[1] ?? "";
  expect(csrf).not.toBe("");
  const origin = new URL(uiA.url).origin;
  const login = await fetch(new URL("/login", uiA.url), {
    method: "POST",
    redirect: "manual",
    headers: { cookie: jar.header(), origin, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf, next: "/activity", token: TOKEN }),
  });
  expect(login.status).toBe(303);
  jar.take(login);
  expect(jar.cookies.has("fw_session")).toBe(true);

  // The session cookie from replica A is a valid session on replica B.
  const page = await fetch(new URL("/activity", uiB.url), { redirect: "manual", headers: { cookie: jar.header() } });
  expect(page.status).toBe(200);
  // A's CSRF token passes B's check on a mutation (an unknown dead letter: 404, not 403); a wrong one is refused.
  const mutate = (token: string) =>
    fetch(new URL("/activity/dead-letters/nope/discard", uiB.url), { method: "POST", redirect: "manual", headers: { cookie: jar.header(), origin, "x-csrf-token": token } });
  expect((await mutate(csrf)).status).not.toBe(403);
  expect((await mutate("forged")).status).toBe(403);

  // Logout on B; the same cookie is refused on A.
  const logout = await fetch(new URL("/logout", uiB.url), { method: "POST", redirect: "manual", headers: { cookie: jar.header(), origin, "x-csrf-token": csrf } });
  expect(logout.status).toBe(303);
  const after = await fetch(new URL("/activity", uiA.url), { redirect: "manual", headers: { cookie: jar.header() } });
  expect(after.status).toBe(302);
  expect(after.headers.get("location")).toMatch(/^\/login/);
});
