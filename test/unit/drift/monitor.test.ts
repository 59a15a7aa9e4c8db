// DriftMonitor: observe() only enqueues, flush() windows and scores, metrics pass promtool, drops are counted.
import { spawnSync } from "node:child_process";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseBaseline, type Baseline } from "../../../platform/drift/baseline.ts";
import { DriftMonitor, PREDICTION_FEATURE } from "../../../platform/drift/monitor.ts";
import { requireTool } from "../../support/require-binary.ts";

const baseline: Baseline = parseBaseline({
  version: 1,
  features: { x: { type: "numeric", edges: [0, 1, 2, 3, 4], counts: [1, 1, 1, 1] } },
  predictions: { type: "categorical", frequencies: { a: 0.5, b: 0.5 } },
});

function setup(extra: Partial<ConstructorParameters<typeof DriftMonitor>[0]> = {}) {
  const registry = new Registry();
  const loads: string[] = [];
  const monitor = new DriftMonitor({
    registry,
    loadBaseline: async (model, version) => {
      loads.push(`${model}@${version}`);
      return model === "iris" ? baseline : undefined;
    },
    minSamples: 8,
    windowSize: 16,
    ...extra,
  });
  return { registry, monitor, loads };
}

const uniform = (n: number) => Array.from({ length: n }, (_, i) => (i % 4) + 0.5);

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe("DriftMonitor", () => {
  it("observe() returns before any scoring or baseline load happens", () => {
    const { monitor, loads } = setup();
    monitor.observe({ model: "iris", version: "1", features: { x: uniform(8) }, predictions: ["a", "b"] });
    expect(loads).toEqual([]);
    expect(monitor.snapshot("iris", "1")).toBeUndefined();
    monitor.close();
  });

  it("scores no drift for baseline-like traffic and drift for shifted traffic, counting one detection per episode", async () => {
    const { registry, monitor } = setup();
    monitor.observe({ model: "iris", version: "1", features: { x: uniform(16) }, predictions: Array.from({ length: 16 }, (_, i) => (i % 2 ? "a" : "b")) });
    await monitor.flush();
    expect(await value(registry, "flywheel_model_drift_score", { model: "iris", version: "1", feature: "x" })).toBeCloseTo(0, 9);
    expect(monitor.snapshot("iris", "1")?.drifted).toBe(false);

    // Everything in the last bin, all predicted "a": both the feature and the predictions drift.
    for (let i = 0; i < 2; i++) monitor.observe({ model: "iris", version: "1", features: { x: Array(8).fill(3.9) }, predictions: Array(8).fill("a") });
    await monitor.flush();
    const x = await value(registry, "flywheel_model_drift_score", { model: "iris", version: "1", feature: "x" });
    const p = await value(registry, "flywheel_model_drift_score", { model: "iris", version: "1", feature: PREDICTION_FEATURE });
    expect(x).toBeGreaterThan(1);
    expect(p).toBeGreaterThan(0.2);
    expect(await value(registry, "flywheel_model_drift_detected_total", { model: "iris", version: "1" })).toBe(1);

    // Still drifted on the next pass: the same episode, not a new detection.
    monitor.observe({ model: "iris", version: "1", features: { x: [3.9] }, predictions: ["a"] });
    await monitor.flush();
    expect(await value(registry, "flywheel_model_drift_detected_total", { model: "iris", version: "1" })).toBe(1);
    monitor.close();
  });

  it("uses the KS statistic for numeric features when asked", async () => {
    const { registry, monitor } = setup({ method: "ks" });
    monitor.observe({ model: "iris", version: "1", features: { x: Array(16).fill(0.5) }, predictions: [] });
    await monitor.flush();
    // CDF 1,1,1,1 vs .25,.5,.75,1 -> 0.75
    expect(await value(registry, "flywheel_model_drift_score", { model: "iris", version: "1", feature: "x" })).toBeCloseTo(0.75, 12);
    monitor.close();
  });

  it("publishes nothing below minSamples and nothing without a baseline", async () => {
    const { registry, monitor, loads } = setup();
    monitor.observe({ model: "iris", version: "1", features: { x: [0.5, 1.5] }, predictions: ["a"] });
    monitor.observe({ model: "other", version: "3", features: { x: uniform(16) }, predictions: [] });
    await monitor.flush();
    expect(loads.sort()).toEqual(["iris@1", "other@3"]);
    expect(await value(registry, "flywheel_model_drift_score", { model: "iris" })).toBeUndefined();
    expect(monitor.snapshot("other", "3")?.baseline).toBe("missing");
    monitor.close();
  });

  it("drops the oldest observations when the queue is full and counts them", async () => {
    const { registry, monitor } = setup({ queueCapacity: 4 });
    for (let i = 0; i < 10; i++) monitor.observe({ model: "iris", version: "1", features: { x: [i] }, predictions: [] });
    expect(monitor.dropped).toBe(6);
    expect(await value(registry, "flywheel_drift_observations_dropped_total", {})).toBe(6);
    await monitor.flush();
    expect(monitor.snapshot("iris", "1")?.samples).toBe(4);
    monitor.close();
  });

  it("retries a failing baseline loader after baselineRetryMs", async () => {
    let now = 0;
    let calls = 0;
    const monitor = new DriftMonitor({
      registry: new Registry(),
      loadBaseline: async () => {
        calls++;
        if (calls === 1) throw new Error("registry down");
        return baseline;
      },
      minSamples: 1,
      baselineRetryMs: 1000,
      now: () => now,
    });
    monitor.observe({ model: "iris", version: "1", features: { x: [0.5] }, predictions: [] });
    await monitor.flush();
    expect(monitor.snapshot("iris", "1")?.baseline).toBe("missing");
    await monitor.flush();
    expect(calls).toBe(1);
    now = 1000;
    await monitor.flush();
    expect(calls).toBe(2);
    expect(monitor.snapshot("iris", "1")?.baseline).toBe("ready");
    monitor.close();
  });

  it("forgets a version with no traffic for idleTtlMs (an old version cannot keep the alert firing)", async () => {
    let now = 0;
    const { registry, monitor } = setup({ idleTtlMs: 60_000, now: () => now });
    monitor.observe({ model: "iris", version: "1", features: { x: Array(16).fill(3.9) }, predictions: [] });
    await monitor.flush();
    expect(await value(registry, "flywheel_model_drift_score", { model: "iris", version: "1", feature: "x" })).toBeGreaterThan(0.2);
    now = 60_000;
    await monitor.flush();
    expect(monitor.snapshot("iris", "1")).toBeDefined();
    now = 60_001;
    await monitor.flush();
    expect(monitor.snapshot("iris", "1")).toBeUndefined();
    expect(await value(registry, "flywheel_model_drift_score", { model: "iris" })).toBeUndefined();
    monitor.close();
  });

  it("forget() removes a version's series", async () => {
    const { registry, monitor } = setup();
    monitor.observe({ model: "iris", version: "1", features: { x: uniform(16) }, predictions: [] });
    await monitor.flush();
    monitor.forget("iris", "1");
    expect(await value(registry, "flywheel_model_drift_score", { model: "iris" })).toBeUndefined();
    monitor.close();
  });

  it("the exposition passes promtool check metrics", async () => {
    const { registry, monitor } = setup();
    monitor.observe({ model: "iris", version: "1", features: { x: Array(16).fill(3.5) }, predictions: Array(16).fill("a") });
    await monitor.flush();
    const text = await registry.metrics();
    expect(text).toContain('flywheel_model_drift_score{model="iris",version="1",feature="x"}');
    expect(text).toContain('flywheel_model_drift_detected_total{model="iris",version="1"} 1');
    const res = spawnSync(requireTool("promtool"), ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(res.error).toBeUndefined();
    expect(`${res.stdout}${res.stderr}`.trim()).toBe("");
    expect(res.status).toBe(0);
    monitor.close();
  });
});
