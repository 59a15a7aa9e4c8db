// Alert storms through the real webhook route and the handler: duplicates collapse, guards skip with recorded reasons.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRetrainDeps, retrainOnDrift, StateRetrainStore, type RetrainDeps } from "../../../functions/retrain-on-drift/index.ts";
import { buildEvent, eventType, parseEventAs, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { openSqliteState } from "../../../platform/state/index.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { alertmanagerRoutes } from "../../../triggers/alertmanager/index.ts";
import { FakeRegistry, IRIS_SPEC, MemoryBus } from "../../unit/retrain/fakes.ts";

const TOKEN = "storm-token-0123456789";
const MIN = 60_000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-storm-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function platform(file = path.join(tmp, `${crypto.randomUUID()}.sqlite`)) {
  const registry = new FakeRegistry();
  registry.addVersion("iris", IRIS_SPEC);
  const bus = new MemoryBus();
  let now = Date.parse("2026-11-29T12:00:00Z");
  const make = async (): Promise<RetrainDeps> =>
    createRetrainDeps({
      bus,
      registry,
      store: new StateRetrainStore(await openSqliteState(file), { owns: true }),
      log: createLogger("silent"),
      now: () => now,
      policies: parsePolicies("defaults: {retrain: {maxInFlight: 1, cooldownMinutes: 60, dailyCap: 2}}"),
    });
  let deps = await make();
  // The broker's routing of triggers.yaml, in memory: alerts and training outcomes go to retrain-on-drift.
  const routed = new Set<string>([eventType("alert.firing"), eventType("alert.resolved"), eventType("training.succeeded")]);
  bus.subscribers.push(async (e) => {
    if (routed.has(e.type)) await retrainOnDrift(e, deps);
  });
  const app = alertmanagerRoutes({ bus, token: TOKEN, log: createLogger("silent") });
  const post = (alerts: unknown[]) =>
    app.request("/", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ version: "4", groupKey: "g", status: "firing", receiver: "flywheel", groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: "", alerts }),
    });
  return {
    bus,
    registry,
    post,
    advance: (ms: number) => (now += ms),
    now: () => now,
    restart: async () => {
      await deps.store.close();
      deps = await make();
    },
    deps: () => deps,
  };
}

const alert = (startsAt: string, fingerprint = "a1b2c3") => ({
  status: "firing",
  labels: { alertname: "ModelDriftDetected", model: "iris", version: "1" },
  annotations: {},
  startsAt,
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "",
  fingerprint,
});

const requested = (bus: MemoryBus) => bus.ofType(eventType("training.requested"));
const decided = (bus: MemoryBus) => bus.ofType(eventType("retrain.decided")).map((e) => parseEventAs("retrain.decided", e).data);

function succeeded(req: AnyCloudEvent, finishedAt: number): AnyCloudEvent {
  const data = parseEventAs("training.requested", req).data;
  const { trigger, ...spec } = data;
  return buildEvent(
    "training.succeeded",
    { jobId: `job-${req.id.slice(0, 8)}`, model: data.model, kind: "single", backend: "local", trigger: trigger ?? { reason: "drift" }, spec, artifactUri: "/tmp/a", startedAt: finishedAt - 1000, finishedAt },
    { source: "/flywheel/training/local", causedBy: { id: req.id } },
  );
}

describe("alert storms", () => {
  it("100 concurrent duplicate notifications (HA pair, repeats) give exactly one training", async () => {
    const p = await platform();
    const results = await Promise.all(Array.from({ length: 100 }, () => p.post([alert("2026-11-29T11:55:00Z")])));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(requested(p.bus)).toHaveLength(1);
    expect(decided(p.bus)).toEqual([expect.objectContaining({ decision: "started", model: "iris" })]);
    // The registry was asked once per distinct event at most, not 100 times.
    expect(p.registry.calls).toBe(1);
  });

  it("100 sequential repeats, then 100 more after a restart (SQLite state), still one training", async () => {
    const p = await platform();
    for (let i = 0; i < 100; i++) expect((await p.post([alert("2026-11-29T11:55:00Z")])).status).toBe(200);
    await p.restart();
    for (let i = 0; i < 100; i++) await p.post([alert("2026-11-29T11:55:00Z")]);
    expect(requested(p.bus)).toHaveLength(1);
    expect(decided(p.bus)).toHaveLength(1);
  });

  it("new alert episodes while a retrain is in flight, then during cooldown, are skipped with the reason recorded", async () => {
    const p = await platform();
    await p.post([alert("2026-11-29T11:55:00Z")]);
    const [first] = requested(p.bus);
    if (!first) throw new Error("no training requested");

    // Alert flaps: a new episode (new startsAt) and a second alert of the same model (other fingerprint).
    p.advance(5 * MIN);
    await p.post([alert("2026-11-29T12:04:00Z"), alert("2026-11-29T12:04:00Z", "zzz999")]);
    expect(decided(p.bus).slice(1).map((d) => d.reason)).toEqual(["in-flight", "in-flight"]);

    // The retrain finishes; alerts within the 60 min cooldown are skipped.
    p.advance(10 * MIN);
    await p.bus.emit(succeeded(first, p.now()));
    p.advance(20 * MIN);
    await p.post([alert("2026-11-29T12:34:00Z")]);
    const cooldown = decided(p.bus).at(-1);
    expect(cooldown).toMatchObject({ decision: "skipped", reason: "cooldown" });
    expect(cooldown?.message).toMatch(/cooling down until/);
    expect(cooldown?.alert?.startsAt).toBe("2026-11-29T12:34:00Z");
    expect(requested(p.bus)).toHaveLength(1);

    // After the cooldown a new episode retrains again...
    p.advance(45 * MIN);
    await p.post([alert("2026-11-29T13:20:00Z")]);
    expect(requested(p.bus)).toHaveLength(2);
    const second = requested(p.bus)[1];
    if (!second) throw new Error("no second training");
    await p.bus.emit(succeeded(second, p.now() + MIN));

    // ...and the daily cap (2) stops the third even after its cooldown.
    p.advance(2 * 60 * MIN);
    await p.post([alert("2026-11-29T15:30:00Z")]);
    expect(decided(p.bus).at(-1)).toMatchObject({ decision: "skipped", reason: "daily-cap" });
    expect(requested(p.bus)).toHaveLength(2);
  });

  it("a resolved alert is recorded as a decision too", async () => {
    const p = await platform();
    await p.post([{ ...alert("2026-11-29T11:55:00Z"), status: "resolved", endsAt: "2026-11-29T12:10:00Z" }]);
    expect(decided(p.bus)).toEqual([expect.objectContaining({ decision: "skipped", reason: "resolved" })]);
    expect(requested(p.bus)).toHaveLength(0);
  });
});
