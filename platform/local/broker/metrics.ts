// The broker's Prometheus metrics, built in a factory on the injected registry (style.md §12).
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { deadLetterCounter } from "../../eventing/dead-letter.ts";

export const DELIVERY_OUTCOMES = ["success", "retry", "dead_letter", "rejected"] as const;
/** Per attempt: success (2xx); retry (retryable failure, retries left); dead_letter (retryable failure, none left);
 * rejected (a status Knative never retries, e.g. 400: dead-lettered at once). */
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export interface BrokerMetrics {
  readonly received: Counter<"type">;
  readonly ingressRejected: Counter<"code">;
  readonly deliveries: Counter<"trigger" | "outcome">;
  readonly duration: Histogram<"trigger">;
  readonly pending: Gauge;
  readonly deadLetters: Counter<"type">;
}

/**
 * A second broker on the same registry (an in-process demo next to tests, say) reuses the metrics instead of
 * failing on a duplicate name; the pending gauge then reports the first broker's queue.
 */
function reuse<T>(registry: Registry, name: string, guard: (m: unknown) => m is T, make: () => T): T {
  const existing = registry.getSingleMetric(name);
  return guard(existing) ? existing : make();
}
const isCounter = (m: unknown): m is Counter<never> => m instanceof Counter;
const isHistogram = (m: unknown): m is Histogram<never> => m instanceof Histogram;
const isGauge = (m: unknown): m is Gauge => m instanceof Gauge;

export function createBrokerMetrics(registry: Registry, pending: () => number): BrokerMetrics {
  return {
    received: reuse(registry, "flywheel_broker_events_received_total", isCounter, () =>
      new Counter({
        name: "flywheel_broker_events_received_total",
        help: "CloudEvents accepted by the broker ingress (duplicates included), by type.",
        labelNames: ["type"],
        registers: [registry],
      }),
    ),
    ingressRejected: reuse(registry, "flywheel_broker_ingress_rejected_total", isCounter, () =>
      new Counter({
        name: "flywheel_broker_ingress_rejected_total",
        help: "Requests the broker ingress refused, by HTTP status.",
        labelNames: ["code"],
        registers: [registry],
      }),
    ),
    deliveries: reuse(registry, "flywheel_broker_deliveries_total", isCounter, () =>
      new Counter({
        name: "flywheel_broker_deliveries_total",
        help: "Delivery attempts by trigger and outcome (success, retry, dead_letter, rejected).",
        labelNames: ["trigger", "outcome"],
        registers: [registry],
      }),
    ),
    duration: reuse(registry, "flywheel_broker_delivery_duration_seconds", isHistogram, () =>
      new Histogram({
        name: "flywheel_broker_delivery_duration_seconds",
        help: "Duration of one delivery attempt to a subscriber.",
        labelNames: ["trigger"],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
    ),
    deadLetters: deadLetterCounter(registry),
    pending: reuse(registry, "flywheel_broker_pending_deliveries", isGauge, () =>
      new Gauge({
        name: "flywheel_broker_pending_deliveries",
        help: "Deliveries waiting for an attempt or in flight.",
        registers: [registry],
        collect() {
          this.set(pending());
        },
      }),
    ),
  };
}
