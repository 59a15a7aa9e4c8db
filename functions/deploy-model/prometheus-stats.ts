// Canary statistics from Prometheus' HTTP API, summed over every replica for the canary's window: infer's
// per-candidate series (embedded router, Seldon's route header), or Knative queue-proxy series per predictor Service
// (KServe: a Splitter does not say which arm answered, but each candidate InferenceService has its own predictor).
import type { PrometheusQuery, VectorSample } from "../../platform/telemetry/prometheus.ts";
import type { CanaryStatsSource, CandidateStats } from "./canary.ts";

export type CanaryMetricsFlavour = "infer" | "knative-queue-proxy";

export interface PrometheusCanaryStatsOptions {
  readonly prometheus: PrometheusQuery;
  readonly flavour?: CanaryMetricsFlavour | undefined;
  /** Namespace of the InferenceServices (knative-queue-proxy flavour). */
  readonly namespace?: string | undefined;
  readonly now?: (() => number) | undefined;
}

/** PromQL string literal. */
const q = (s: string): string => JSON.stringify(s);

interface Queries {
  readonly by: string;
  readonly requests: string;
  readonly errors: string;
  readonly latency: (quantile: number) => string;
  /** Multiplier to milliseconds. */
  readonly toMs: number;
  /** Candidate deployment name from the grouping label's value. */
  readonly candidate: (label: string) => string;
}

const PREDICTOR_SUFFIX = /-predictor(-default)?$/;

function queries(flavour: CanaryMetricsFlavour, deployment: string, window: string, namespace: string): Queries {
  if (flavour === "knative-queue-proxy") {
    // Canary candidates are <name>-v<version> InferenceServices; each predictor runs as the Knative Service
    // <isvc>-predictor (older KServe: -predictor-default), whose queue-proxy counts every request it answered.
    const escaped = deployment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const sel = `namespace_name=${q(namespace)}, service_name=~${q(`${escaped}-v[^-]+-predictor(-default)?`)}`;
    return {
      by: "service_name",
      requests: `sum by (service_name) (increase(revision_app_request_count{${sel}}[${window}]))`,
      errors: `sum by (service_name) (increase(revision_app_request_count{${sel}, response_code_class="5xx"}[${window}]))`,
      latency: (p) => `histogram_quantile(${p}, sum by (le, service_name) (increase(revision_app_request_latencies_bucket{${sel}}[${window}])))`,
      toMs: 1,
      candidate: (label) => label.replace(PREDICTOR_SUFFIX, ""),
    };
  }
  const sel = `deployment=${q(deployment)}`;
  return {
    by: "candidate",
    requests: `sum by (candidate) (increase(flywheel_infer_candidate_requests_total{${sel}, outcome!="rejected"}[${window}]))`,
    errors: `sum by (candidate) (increase(flywheel_infer_candidate_requests_total{${sel}, outcome="error"}[${window}]))`,
    latency: (p) => `histogram_quantile(${p}, sum by (le, candidate) (increase(flywheel_infer_candidate_duration_seconds_bucket{${sel}}[${window}])))`,
    toMs: 1000,
    candidate: (label) => label,
  };
}

export class PrometheusCanaryStats implements CanaryStatsSource {
  readonly source = "prometheus";
  readonly #o: PrometheusCanaryStatsOptions;
  constructor(o: PrometheusCanaryStatsOptions) {
    this.#o = o;
  }

  /** Per candidate over [since, now] (at least a minute, so a fresh canary still gets a range with two scrapes). */
  async stats(deployment: string, since?: number): Promise<Readonly<Record<string, CandidateStats>> | undefined> {
    const now = (this.#o.now ?? Date.now)();
    const seconds = Math.max(60, Math.ceil((now - (since ?? now - 3_600_000)) / 1000));
    const qs = queries(this.#o.flavour ?? "infer", deployment, `${seconds}s`, this.#o.namespace ?? "default");
    const [requests, errors, p50, p95, p99] = await Promise.all([
      this.#o.prometheus.query(qs.requests),
      this.#o.prometheus.query(qs.errors),
      this.#o.prometheus.query(qs.latency(0.5)),
      this.#o.prometheus.query(qs.latency(0.95)),
      this.#o.prometheus.query(qs.latency(0.99)),
    ]);
    const by = (v: readonly VectorSample[]): Map<string, number> =>
      new Map(v.filter((s) => Number.isFinite(s.value)).map((s) => [qs.candidate(s.labels[qs.by] ?? ""), s.value]));
    const [r, e, l50, l95, l99] = [by(requests), by(errors), by(p50), by(p95), by(p99)];
    if (r.size === 0) return undefined;
    const out: Record<string, CandidateStats> = {};
    // increase() extrapolates to the range's edges: counts are estimates, rounded to whole requests.
    for (const [candidate, n] of r) {
      out[candidate] = {
        requests: Math.round(n),
        errors: Math.round(e.get(candidate) ?? 0),
        p50Ms: (l50.get(candidate) ?? 0) * qs.toMs,
        p95Ms: (l95.get(candidate) ?? 0) * qs.toMs,
        p99Ms: (l99.get(candidate) ?? 0) * qs.toMs,
      };
    }
    return out;
  }
}
