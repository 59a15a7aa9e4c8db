// Training metrics count each transition once, after the status listener succeeded, and time finished jobs.
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { JobRecord, JobTransition } from "../../../platform/ports.ts";
import { withTrainingMetrics } from "../../../platform/training/metrics.ts";
import type { JobUpdate } from "../../../platform/training/updates.ts";

function update(state: JobTransition["state"], at: number, reason?: string): JobUpdate {
  const transition: JobTransition = { state, at, reason };
  const job = {
    id: "iris-1",
    model: "iris",
    kind: "ddp",
    backend: "local",
    state,
    spec: { kind: "ddp", model: "iris", command: ["x"], args: [], params: {}, replicas: 1, procsPerReplica: 2, env: {}, timeoutSeconds: 60 },
    trigger: { reason: "manual" },
    createdAt: 1_000,
    startedAt: 2_000,
    ranks: 2,
    history: [transition],
  } satisfies JobRecord;
  return { job, transition };
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  // Histogram series (_sum, _count, _bucket) sit under the histogram's own name, told apart by metricName.
  const values = (await registry.getMetricsAsJSON()).flatMap((m) => m.values.map((v) => ({ ...v, series: "metricName" in v && v.metricName ? v.metricName : m.name })));
  return values.find((v) => v.series === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe("withTrainingMetrics", () => {
  it("counts a transition only once its listener succeeded", async () => {
    const registry = new Registry();
    let fail = true;
    const wrapped = withTrainingMetrics(async () => {
      if (fail) throw new Error("bus down");
    }, registry);
    await expect(wrapped(update("running", 2_000))).rejects.toThrow("bus down");
    expect(await value(registry, "flywheel_training_transitions_total", { state: "running" })).toBeUndefined();
    fail = false;
    await wrapped(update("running", 2_000));
    expect(await value(registry, "flywheel_training_transitions_total", { kind: "ddp", state: "running", backend: "local" })).toBe(1);
  });

  it("times finished jobs from their start and labels failures with the reason", async () => {
    const registry = new Registry();
    const wrapped = withTrainingMetrics(() => undefined, registry);
    await wrapped(update("failed", 12_000, "NonZeroExit"));
    expect(await value(registry, "flywheel_training_transitions_total", { state: "failed", reason: "NonZeroExit" })).toBe(1);
    expect(await value(registry, "flywheel_training_job_duration_seconds_sum", { kind: "ddp", state: "failed" })).toBe(10);
  });

  it("shares the metrics when two backends wrap listeners on one registry", () => {
    const registry = new Registry();
    withTrainingMetrics(() => undefined, registry);
    expect(() => withTrainingMetrics(() => undefined, registry)).not.toThrow();
  });
});
