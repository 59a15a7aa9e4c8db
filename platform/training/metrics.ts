// Training metrics from the status stream: transitions by kind/state/reason and job durations, for the Training dashboard.
import { Counter, Histogram, type Registry } from "prom-client";
import { isTerminal } from "../ports.ts";
import type { JobListener } from "./updates.ts";

function counter(registry: Registry): Counter<"kind" | "backend" | "state" | "reason"> {
  const existing = registry.getSingleMetric("flywheel_training_transitions_total");
  if (existing instanceof Counter) return existing;
  return new Counter({
    name: "flywheel_training_transitions_total",
    help: "Training job state transitions, by kind, backend, new state and reason.",
    labelNames: ["kind", "backend", "state", "reason"],
    registers: [registry],
  });
}

function histogram(registry: Registry): Histogram<"kind" | "state"> {
  const existing = registry.getSingleMetric("flywheel_training_job_duration_seconds");
  if (existing instanceof Histogram) return existing;
  return new Histogram({
    name: "flywheel_training_job_duration_seconds",
    help: "Wall time of finished training jobs, from start (or creation) to the end state.",
    labelNames: ["kind", "state"],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
    registers: [registry],
  });
}

/**
 * Wraps a backend's status listener. It counts after the wrapped listener succeeded, because a backend calls the
 * listener again for a transition whose call failed: counting first would count that transition twice.
 */
export function withTrainingMetrics(listener: JobListener, registry: Registry): JobListener {
  const transitions = counter(registry);
  const durations = histogram(registry);
  return async (update) => {
    await listener(update);
    const { job, transition } = update;
    transitions.inc({ kind: job.kind, backend: job.backend, state: transition.state, reason: transition.reason ?? "" });
    if (isTerminal(transition.state)) {
      const from = job.startedAt ?? job.createdAt;
      durations.observe({ kind: job.kind, state: transition.state }, Math.max(0, (transition.at - from) / 1000));
    }
  };
}
