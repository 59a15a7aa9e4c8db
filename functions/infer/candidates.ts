// Per-candidate request, error and latency metrics, recorded by infer where it knows which candidate answered (the
// embedded experiment router's and Seldon's route headers; the deployment itself otherwise). Canary decisions query
// them from Prometheus (functions/deploy-model/prometheus-stats.ts), summed over every infer replica.
import { Counter, Histogram, type Registry } from "prom-client";
import { isKnownError } from "../../platform/errors.ts";
import { ROUTE_HEADER, SELDON_ROUTE_HEADER } from "../../platform/serving/local/server.ts";

export const CANDIDATE_REQUESTS_METRIC = "flywheel_infer_candidate_requests_total";
export const CANDIDATE_DURATION_METRIC = "flywheel_infer_candidate_duration_seconds";

/** success; error = the server failed (5xx, unreachable); rejected = the caller's bad input (4xx), not the model's fault. */
export const CANDIDATE_OUTCOMES = ["success", "error", "rejected"] as const;
export type CandidateOutcome = (typeof CANDIDATE_OUTCOMES)[number];

export interface CandidateMetrics {
  record(deployment: string, candidate: string, outcome: CandidateOutcome, seconds: number): void;
}

/** Reuses metrics already on the registry, so two infer wirings on one registry share them. */
export function createCandidateMetrics(registry: Registry): CandidateMetrics {
  const requests =
    registry.getSingleMetric(CANDIDATE_REQUESTS_METRIC) instanceof Counter
      ? (registry.getSingleMetric(CANDIDATE_REQUESTS_METRIC) as Counter<"deployment" | "candidate" | "outcome">)
      : new Counter({
          name: CANDIDATE_REQUESTS_METRIC,
          help: "Inference requests through infer by deployment, the candidate that answered (the deployment itself when not an experiment) and outcome (success, error = server failure, rejected = bad input).",
          labelNames: ["deployment", "candidate", "outcome"] as const,
          registers: [registry],
        });
  const duration =
    registry.getSingleMetric(CANDIDATE_DURATION_METRIC) instanceof Histogram
      ? (registry.getSingleMetric(CANDIDATE_DURATION_METRIC) as Histogram<"deployment" | "candidate">)
      : new Histogram({
          name: CANDIDATE_DURATION_METRIC,
          help: "Inference latency seen by infer (the backend call) by deployment and the candidate that answered.",
          labelNames: ["deployment", "candidate"] as const,
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        });
  return {
    record(deployment, candidate, outcome, seconds) {
      requests.inc({ deployment, candidate, outcome });
      if (outcome !== "rejected") duration.observe({ deployment, candidate }, seconds);
    },
  };
}

/** The candidate a response (or error response) names: ours, then Seldon's `:name:` segments. */
export function answeringCandidate(headers: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!headers) return undefined;
  return headers[ROUTE_HEADER] ?? headers[SELDON_ROUTE_HEADER]?.split(":").find(Boolean);
}

export function outcomeOfError(e: unknown): CandidateOutcome {
  return isKnownError(e) && e.status < 500 && e.status !== 404 ? "rejected" : "error";
}
