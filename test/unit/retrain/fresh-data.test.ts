// retrain-on-drift and fresh data: with no labelled feedback since the champion the drift retrain is skipped
// (reason no-new-data); with some, the request carries the data window (the champion's or the policy's default).
import { describe, expect, it } from "vitest";
import { createRetrainDeps, MemoryRetrainStore, retrainOnDrift } from "../../../functions/retrain-on-drift/index.ts";
import { buildEvent, deriveId, parseEventAs } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { FakeRegistry, IRIS_SPEC, MemoryBus } from "./fakes.ts";

const NOW = Date.parse("2026-11-29T12:00:00Z");

function setup(labelled: number, spec: typeof IRIS_SPEC = IRIS_SPEC, policies = "defaults: {retrain: {windowDays: 3}}") {
  const registry = new FakeRegistry();
  registry.addVersion("iris", spec);
  const bus = new MemoryBus();
  const since: number[] = [];
  const deps = createRetrainDeps({
    bus, registry, store: new MemoryRetrainStore(), log: createLogger("silent"), now: () => NOW, policies: parsePolicies(policies),
    labelledSince: (_m, t) => (since.push(t), labelled),
  });
  return { bus, deps, since };
}
const alert = (alertname = "ModelDriftDetected") =>
  buildEvent("alert.firing", { status: "firing", alertname, labels: { alertname, model: "iris", version: "1" }, startsAt: "2026-11-29T11:50:00Z", fingerprint: `fp-${alertname}` }, { source: "/flywheel/triggers/alertmanager", id: deriveId(`fp-${alertname}`, "firing") });

describe("retrain on fresh data", () => {
  it("skips a drift retrain when nothing was labelled since the champion, with the reason recorded", async () => {
    const { bus, deps } = setup(0);
    const out = await retrainOnDrift(alert(), deps);
    expect(out.status).toBe("ignored");
    const [d] = bus.ofType("dev.flywheel.retrain.decided").map((e) => parseEventAs("retrain.decided", e).data);
    expect(d).toMatchObject({ decision: "skipped", reason: "no-new-data" });
    expect(d?.message).toMatch(/POST \/feedback/);
    expect(bus.ofType("dev.flywheel.training.requested")).toHaveLength(0);
  });

  it("with new labels, ModelAccuracyDropped retrains too, and the request names the policy's default window", async () => {
    const { bus, deps } = setup(12);
    expect((await retrainOnDrift(alert("ModelAccuracyDropped"), deps)).status).toBe("done");
    const [req] = bus.ofType("dev.flywheel.training.requested").map((e) => parseEventAs("training.requested", e).data);
    expect(req?.dataWindow).toEqual({ days: 3 });
    expect(req?.trigger?.alert?.alertname).toBe("ModelAccuracyDropped");
  });

  it("keeps the champion's own window", async () => {
    const { bus, deps } = setup(1, { ...IRIS_SPEC, dataWindow: { days: 14 } });
    await retrainOnDrift(alert(), deps);
    expect(bus.ofType("dev.flywheel.training.requested").map((e) => parseEventAs("training.requested", e).data.dataWindow)).toEqual([{ days: 14 }]);
  });

  it("the policy can be turned off", async () => {
    const { bus, deps, since } = setup(0, IRIS_SPEC, "defaults: {retrain: {requireNewData: false}}");
    expect((await retrainOnDrift(alert(), deps)).status).toBe("done");
    expect(since).toEqual([]);
    expect(bus.ofType("dev.flywheel.training.requested")).toHaveLength(1);
  });
});
