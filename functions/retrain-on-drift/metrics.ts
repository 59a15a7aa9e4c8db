// retrain-on-drift's counters: decisions and the ends of the trainings it requested. FlywheelRetrainStuck compares
// them (platform/telemetry/rules.ts), summed over replicas, so a lost terminal event shows up on any replica count.
import { Counter, type Registry } from "prom-client";

export interface RetrainMetrics {
  decided(model: string, decision: "started" | "skipped"): void;
  finished(model: string, outcome: "succeeded" | "failed" | "cancelled"): void;
}

export function createRetrainMetrics(registry: Registry): RetrainMetrics {
  const existing = (name: string): Counter<string> | undefined => {
    const m = registry.getSingleMetric(name);
    return m instanceof Counter ? m : undefined;
  };
  const decisions =
    existing("flywheel_retrain_decisions_total") ??
    new Counter({
      name: "flywheel_retrain_decisions_total",
      help: "retrain-on-drift decisions by model and decision (started = a training was requested, skipped = a guard or lineage said no).",
      labelNames: ["model", "decision"],
      registers: [registry],
    });
  const finished =
    existing("flywheel_retrain_trainings_finished_total") ??
    new Counter({
      name: "flywheel_retrain_trainings_finished_total",
      help: "Trainings retrain-on-drift requested that reached an end (succeeded, failed, cancelled), counted once each.",
      labelNames: ["model", "outcome"],
      registers: [registry],
    });
  return {
    decided: (model, decision) => decisions.inc({ model, decision }),
    finished: (model, outcome) => finished.inc({ model, outcome }),
  };
}
