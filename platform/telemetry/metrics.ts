// Per-function Prometheus metrics: invocations by outcome, duration, cold starts. Built per registry, never global.
import { Counter, Histogram, type Registry } from "prom-client";

export const INVOCATION_OUTCOMES = ["success", "rejected", "retry", "error"] as const;
export type InvocationOutcome = (typeof INVOCATION_OUTCOMES)[number];

/** From an HTTP status: 2xx success; other 4xx rejected (never retried); 5xx/404/408/409/429 retry (Knative retries). */
export function outcomeOf(status: number): InvocationOutcome {
  if (status >= 200 && status < 300) return "success";
  if (status === 503 || [404, 408, 409, 429].includes(status)) return "retry";
  if (status >= 500) return "error";
  return "rejected";
}

export interface FunctionMetrics {
  /** Call once per invocation; the first call in a process also counts a cold start. */
  observe(fn: string, outcome: InvocationOutcome, seconds: number): void;
  readonly invocations: Counter<"function" | "outcome">;
  readonly duration: Histogram<"function">;
  readonly coldStarts: Counter<"function">;
}

export function createFunctionMetrics(registry: Registry): FunctionMetrics {
  const invocations = new Counter({
    name: "flywheel_function_invocations_total",
    help: "Function invocations by outcome (success, rejected = bad event not retried, retry, error).",
    labelNames: ["function", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "flywheel_function_duration_seconds",
    help: "Function handler duration in seconds.",
    labelNames: ["function"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const coldStarts = new Counter({
    name: "flywheel_function_cold_starts_total",
    help: "Invocations that were the first one served by a fresh process (a Knative scale-from-zero or new pod).",
    labelNames: ["function"] as const,
    registers: [registry],
  });
  const warm = new Set<string>();
  return {
    invocations,
    duration,
    coldStarts,
    observe(fn, outcome, seconds) {
      if (!warm.has(fn)) {
        warm.add(fn);
        coldStarts.inc({ function: fn });
      }
      invocations.inc({ function: fn, outcome });
      duration.observe({ function: fn }, seconds);
    },
  };
}
