// retrain-on-drift handler: every decision, table-driven, plus retries (registry down, bus down) and outcome tracking.
import { CloudEvent } from "cloudevents";
import { describe, expect, it } from "vitest";
import { createRetrainDeps, MemoryRetrainStore, retrainOnDrift } from "../../../functions/retrain-on-drift/index.ts";
import { UpstreamError } from "../../../platform/errors.ts";
import { buildEvent, deriveId, parseEventAs, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { FakeRegistry, IRIS_SPEC, MemoryBus } from "./fakes.ts";

const NOW = Date.parse("2026-11-29T12:00:00Z");

function setup() {
  const registry = new FakeRegistry();
  registry.addVersion("iris", IRIS_SPEC);
  registry.addVersion("nolineage", undefined);
  const bus = new MemoryBus();
  const store = new MemoryRetrainStore();
  let now = NOW;
  const deps = createRetrainDeps({
    bus,
    registry,
    store,
    log: createLogger("silent"),
    now: () => now,
    policies: parsePolicies("defaults: {retrain: {maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3}}\nmodels: {wine: {retrain: {alertnames: [WineDrift]}}}"),
  });
  return { registry, bus, store, deps, advance: (ms: number) => (now += ms) };
}

const alertEvent = (status: "firing" | "resolved", labels: Record<string, string>, startsAt = "2026-11-29T11:50:00Z") =>
  buildEvent(
    status === "firing" ? "alert.firing" : "alert.resolved",
    { status, alertname: labels.alertname ?? "", labels, startsAt, fingerprint: `fp-${labels.model ?? "none"}-${labels.alertname}` },
    { source: "/flywheel/triggers/alertmanager", id: deriveId(`fp-${labels.model}${startsAt}`, status) },
  );

const pingEvent = (data: unknown) =>
  new CloudEvent<unknown>({ specversion: "1.0", type: "dev.knative.sources.ping", source: "/apis/v1/namespaces/flywheel/pingsources/nightly", id: crypto.randomUUID(), datacontenttype: "application/json", data });

const kafkaEvent = (data: unknown, offset = 1) =>
  new CloudEvent<unknown>({ specversion: "1.0", type: "dev.knative.kafka.event", source: "/apis/v1/namespaces/flywheel/kafkasources/k#flywheel.training.requests", subject: `partition:0#${offset}`, id: `partition:0/offset:${offset}`, data });

const decisions = (bus: MemoryBus) => bus.ofType("dev.flywheel.retrain.decided").map((e) => parseEventAs("retrain.decided", e).data);
const requests = (bus: MemoryBus) => bus.ofType("dev.flywheel.training.requested").map((e) => parseEventAs("training.requested", e));

describe("retrain-on-drift decisions", () => {
  const drift = { alertname: "ModelDriftDetected", model: "iris", version: "1" };
  it.each([
    { name: "drift alert on a model with lineage", ev: () => alertEvent("firing", drift), decision: "started", reason: "started" },
    { name: "no model label", ev: () => alertEvent("firing", { alertname: "ModelDriftDetected" }), decision: "skipped", reason: "no-model-label" },
    { name: "another alert", ev: () => alertEvent("firing", { alertname: "HighLatency", model: "iris" }), decision: "skipped", reason: "not-drift-alert" },
    { name: "per-model alertnames", ev: () => alertEvent("firing", { alertname: "ModelDriftDetected", model: "wine" }), decision: "skipped", reason: "not-drift-alert" },
    { name: "per-model alertname matches", ev: () => alertEvent("firing", { alertname: "WineDrift", model: "wine" }), decision: "skipped", reason: "no-champion" },
    { name: "champion without lineage", ev: () => alertEvent("firing", { ...drift, model: "nolineage" }), decision: "skipped", reason: "no-lineage" },
    { name: "resolved alert is recorded", ev: () => alertEvent("resolved", drift), decision: "skipped", reason: "resolved" },
    { name: "ping, champion with lineage", ev: () => pingEvent({ model: "iris" }), decision: "started", reason: "started" },
    { name: "ping, no lineage and no overrides", ev: () => pingEvent({ model: "nolineage" }), decision: "skipped", reason: "no-lineage" },
    { name: "ping, no champion and no overrides", ev: () => pingEvent({ model: "ghost" }), decision: "skipped", reason: "no-champion" },
    { name: "ping, no champion but a full spec", ev: () => pingEvent({ model: "ghost", overrides: { command: ["/bin/true"] } }), decision: "started", reason: "started" },
    { name: "ping, bad data", ev: () => pingEvent({ modell: "iris" }), decision: "skipped", reason: "invalid-request" },
    { name: "kafka plain record", ev: () => kafkaEvent({ model: "iris" }), decision: "started", reason: "started" },
    { name: "kafka record, bad override value", ev: () => kafkaEvent({ model: "iris", replicas: 0 }), decision: "skipped", reason: "invalid-request" },
    { name: "kafka record, not JSON", ev: () => kafkaEvent(Buffer.from("nope")), decision: "skipped", reason: "invalid-request" },
  ])("$name -> $decision ($reason)", async ({ ev, decision, reason }) => {
    const { bus, deps } = setup();
    const out = await retrainOnDrift(ev(), deps);
    expect(out.status).toBe(decision === "started" ? "done" : "ignored");
    const d = decisions(bus);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ decision, reason });
    expect(requests(bus)).toHaveLength(decision === "started" ? 1 : 0);
  });

  it("the drift request is the champion's spec plus the alert reference, with an id derived from the alert event", async () => {
    const { bus, deps } = setup();
    const ev = alertEvent("firing", drift);
    await retrainOnDrift(ev, deps);
    const [req] = requests(bus);
    expect(req?.data).toMatchObject({ model: "iris", command: IRIS_SPEC.command, params: { epochs: "200", lr: "0.1" }, timeoutSeconds: 600 });
    expect(req?.data.trigger).toEqual({
      reason: "drift",
      eventId: ev.id,
      alert: { alertname: "ModelDriftDetected", fingerprint: "fp-iris-ModelDriftDetected", startsAt: "2026-11-29T11:50:00Z", labels: drift },
    });
    expect(req?.id).toBe(deriveId(`${ev.source}\u0000${ev.id}`, "training.requested"));
    expect(decisions(bus)[0]?.trainingEventId).toBe(req?.id);
  });

  it("ping overrides merge params into the champion's spec and replace other fields", async () => {
    const { bus, deps } = setup();
    await retrainOnDrift(pingEvent({ model: "iris", schedule: "nightly", overrides: { params: { epochs: "5" }, timeoutSeconds: 120 } }), deps);
    expect(requests(bus)[0]?.data).toMatchObject({ params: { epochs: "5", lr: "0.1" }, timeoutSeconds: 120, trigger: { reason: "schedule", schedule: "nightly" } });
  });

  it("a registry outage is retryable and records nothing", async () => {
    const { bus, deps, registry, store } = setup();
    registry.down = true;
    const ev = alertEvent("firing", drift);
    await expect(retrainOnDrift(ev, deps)).rejects.toBeInstanceOf(UpstreamError);
    expect(bus.events).toHaveLength(0);
    expect(await store.getDecision(`${ev.source}\u0000${ev.id}`)).toBeUndefined();
    registry.down = false;
    expect((await retrainOnDrift(ev, deps)).status).toBe("done");
  });

  it("a bus failure is retryable; the redelivery re-sends the same events once", async () => {
    const { bus, deps } = setup();
    const ev = alertEvent("firing", drift);
    bus.failNext = 1;
    await expect(retrainOnDrift(ev, deps)).rejects.toMatchObject({ retryable: true });
    expect((await retrainOnDrift(ev, deps)).status).toBe("duplicate");
    expect((await retrainOnDrift(ev, deps)).status).toBe("duplicate");
    expect(requests(bus)).toHaveLength(1);
    expect(decisions(bus)).toHaveLength(1);
  });

  it("training outcomes free the in-flight slot only for trainings it requested", async () => {
    const { deps, store, advance } = setup();
    const ev = alertEvent("firing", drift);
    await retrainOnDrift(ev, deps);
    const ended = (eventId: string) =>
      buildEvent(
        "training.failed",
        { jobId: "j1", model: "iris", kind: "single", backend: "local", trigger: { reason: "drift", eventId }, spec: { ...IRIS_SPEC, model: "iris" }, reason: "NonZeroExit", message: "exit 1", finishedAt: NOW + 1000 },
        { source: "/flywheel/training/local" },
      );
    expect((await retrainOnDrift(ended("someone-else"), deps)).status).toBe("ignored");
    expect((await store.trainings("iris", 0))[0]?.finishedAt).toBeUndefined();
    advance(2000);
    expect((await retrainOnDrift(ended(ev.id), deps)).status).toBe("done");
    expect((await store.trainings("iris", 0))[0]).toMatchObject({ outcome: "failed", finishedAt: NOW + 1000 });
  });

  it("ignores event types it does not handle", async () => {
    const { deps } = setup();
    const ev: AnyCloudEvent = new CloudEvent<unknown>({ specversion: "1.0", type: "com.example.other", source: "/x", id: "1", data: {} });
    expect((await retrainOnDrift(ev, deps)).status).toBe("ignored");
  });
});
