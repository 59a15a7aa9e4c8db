// Prometheus metrics of the embedded inference server, built on an injected Registry (style.md §12).
import { Counter, Histogram, type Registry } from "prom-client";

export interface ServingMetrics {
  readonly duration: Histogram<"model" | "version">;
  readonly requests: Counter<"model" | "version" | "code">;
  readonly batchSize: Histogram<"model" | "version">;
  readonly routed: Counter<"deployment" | "candidate">;
  readonly mirrored: Counter<"deployment" | "mirror" | "outcome">;
}

/** Reuses metrics already registered under the same names (two servers on one registry share them). */
export function createServingMetrics(registry: Registry): ServingMetrics {
  const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined;
  return {
    duration:
      existing<Histogram<"model" | "version">>("flywheel_inference_request_duration_seconds") ??
      new Histogram({
        name: "flywheel_inference_request_duration_seconds",
        help: "Embedded V2 inference latency per model and version",
        labelNames: ["model", "version"],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
    requests:
      existing<Counter<"model" | "version" | "code">>("flywheel_inference_requests_total") ??
      new Counter({
        name: "flywheel_inference_requests_total",
        help: "Embedded V2 inference requests per model, version and HTTP status code",
        labelNames: ["model", "version", "code"],
        registers: [registry],
      }),
    batchSize:
      existing<Histogram<"model" | "version">>("flywheel_inference_batch_size") ??
      new Histogram({
        name: "flywheel_inference_batch_size",
        help: "Requests coalesced per onnxruntime run (adaptive batching)",
        labelNames: ["model", "version"],
        buckets: [1, 2, 4, 8, 16, 32, 64, 128],
        registers: [registry],
      }),
    routed:
      existing<Counter<"deployment" | "candidate">>("flywheel_experiment_routed_total") ??
      new Counter({
        name: "flywheel_experiment_routed_total",
        help: "Requests an experiment routed to each candidate",
        labelNames: ["deployment", "candidate"],
        registers: [registry],
      }),
    mirrored:
      existing<Counter<"deployment" | "mirror" | "outcome">>("flywheel_experiment_mirrored_total") ??
      new Counter({
        name: "flywheel_experiment_mirrored_total",
        help: "Shadow requests sent to an experiment's mirror, by outcome (ok | error)",
        labelNames: ["deployment", "mirror", "outcome"],
        registers: [registry],
      }),
  };
}
