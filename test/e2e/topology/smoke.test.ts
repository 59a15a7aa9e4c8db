// The topology harness itself (test/support/topology): every function of the rendered manifests runs 2 replicas of the
// production bundle behind a round-robin front, Prometheus scrapes each replica through file_sd as they come and go,
// the broker routes by the rendered Triggers, and the fault hooks (kill, scale to zero, broker SIGKILL, PostgreSQL
// restart) do what they say.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../support/platform.ts";
import { startTopology, type Topology } from "../../support/topology/index.ts";

let t: Topology;

beforeAll(async () => {
  t = await startTopology({ kubelet: false });
}, 300_000);

afterAll(async () => {
  if (t) process.stdout.write(`${t.report()}\n`);
  await t?.stop();
}, 60_000);

async function prom(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${t.urls.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return ((await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } }).data.result;
}

const upCount = async (fn: string): Promise<number> => Number((await prom(`count(up{function="${fn}"} == 1)`))[0]?.value[1] ?? 0);

async function emit(type: string, id = randomUUID()): Promise<string> {
  const r = await fetch(t.urls.brokerIngress, {
    method: "POST",
    headers: { "content-type": "application/json", "ce-specversion": "1.0", "ce-type": type, "ce-source": "/topology/smoke", "ce-id": id },
    body: JSON.stringify({ smoke: true }),
  });
  expect(r.status).toBe(202);
  return id;
}

/** The UI's activity API (event-log sink, PostgreSQL), as an admin. */
async function logged(type: string): Promise<string[]> {
  const r = await fetch(`${t.urls.ui}/api/v1/events?type=${encodeURIComponent(type)}&limit=100`, { headers: { authorization: `Bearer ${t.secrets.adminToken}` } });
  if (r.status !== 200) return [];
  return ((await r.json()) as { events: { id: string }[] }).events.map((e) => e.id);
}

describe("topology harness", () => {
  it("runs every rendered Knative Service as 2 replicas, each scraped by Prometheus", async () => {
    const names = t.objects.filter((o) => o.kind === "Service" && o.apiVersion === "serving.knative.dev/v1").map((o) => o.metadata.name);
    expect(names.sort()).toEqual(Object.keys(t.urls.functions).sort());
    for (const n of names) expect(t.fn(n).replicas).toHaveLength(2);
    // The UI bundle serves its static assets (they live next to the bundle, not in the source tree).
    expect((await fetch(`${t.urls.ui}/static/flywheel.css`)).status).toBe(200);
    await until("every replica scraped", async () => (Number((await prom('count(up{job="flywheel-functions"} == 1)'))[0]?.value[1]) === names.length * 2 ? true : undefined), 60_000, 500);
  }, 90_000);

  it("spreads requests round-robin over the replicas", async () => {
    const f = t.fn("infer");
    const before = [...f.replicas.map((r) => f.served.get(r.index) ?? 0)];
    for (let i = 0; i < 4; i++) expect((await fetch(`${f.url}/healthz`)).status).toBe(200);
    expect(f.replicas.map((r, i) => (f.served.get(r.index) ?? 0) - (before[i] ?? 0))).toEqual([2, 2]);
  });

  it("routes an event by the rendered Triggers: the filterless event-log Trigger records it", async () => {
    const id = await emit("dev.example.topology.smoke");
    await until("event logged", async () => ((await logged("dev.example.topology.smoke")).includes(id) ? true : undefined), 30_000, 250);
    // The function has written it; the broker marks the delivery once the 2xx answer is back (a moment later under load).
    const deliveries = async (): Promise<{ trigger: string; state: string }[] | undefined> => {
      const seen = (await (await fetch(`${t.urls.broker}/debug/events?type=dev.example.topology.smoke`)).json()) as { events: { id: string; deliveries: { trigger: string; state: string }[] }[] };
      return seen.events.find((e) => e.id === id)?.deliveries;
    };
    await until("the delivery marked", async () => ((await deliveries())?.every((d) => d.state !== "inflight") ? true : undefined), 10_000, 100);
    expect(await deliveries()).toEqual([expect.objectContaining({ trigger: "event-log", state: "delivered" })]);
  }, 60_000);

  it("kills and restarts a replica; Prometheus' file_sd follows", async () => {
    await t.kill("infer", 1, "SIGKILL");
    expect(t.fn("infer").replicas).toHaveLength(1);
    await until("infer-1 dropped", async () => ((await upCount("infer")) === 1 ? true : undefined), 30_000, 500);
    await t.restartReplica("infer", 1);
    await until("infer-1 back", async () => ((await upCount("infer")) === 2 ? true : undefined), 30_000, 500);
  }, 90_000);

  it("scales a function to zero; the next delivery cold-starts it", async () => {
    await t.scaleToZero("event-log");
    expect(t.fn("event-log").replicas).toHaveLength(0);
    const id = await emit("dev.example.topology.cold");
    await until("event logged after a cold start", async () => ((await logged("dev.example.topology.cold")).includes(id) ? true : undefined), 60_000, 250);
    expect(t.fn("event-log").coldStarts).toHaveLength(1);
    expect(t.fn("event-log").replicas).toHaveLength(2);
  }, 90_000);

  it("recovers the broker's queue after SIGKILL", async () => {
    // The sink is down (every replica killed, not scaled to zero: the front answers 503), so deliveries wait in backoff.
    await t.kill("event-log", 0, "SIGKILL");
    await t.kill("event-log", 1, "SIGKILL");
    const id = await emit("dev.example.topology.queued");
    await t.broker.kill("SIGKILL");
    await t.broker.start();
    await t.restartReplica("event-log", 0);
    await t.restartReplica("event-log", 1);
    await until("queued event delivered after the broker restart", async () => ((await logged("dev.example.topology.queued")).includes(id) ? true : undefined), 60_000, 250);
  }, 120_000);

  it("restarts PostgreSQL on the same data; the functions reconnect", async () => {
    const { downMs } = await t.restartPostgres(2000);
    expect(downMs).toBeLessThan(15_000);
    const id = await emit("dev.example.topology.after-pg");
    await until("event logged after the restart", async () => ((await logged("dev.example.topology.after-pg")).includes(id) ? true : undefined), 60_000, 250);
    expect(await logged("dev.example.topology.smoke")).toHaveLength(1);
  }, 120_000);
});
