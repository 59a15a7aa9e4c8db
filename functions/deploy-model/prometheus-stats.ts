// Canary statistics from Prometheus' HTTP API, summed over every replica for the canary's window: infer's
// per-candidate series (embedded router, Seldon's route header), or, on KServe, the per-revision series of Knative's
// queue-proxy (revision_app_request_count / revision_app_request_latencies, labels namespace_name, revision_name,
// response_code_class; latencies in ms: knative.dev/docs/serving/services/service-metrics), for the two revisions of
// the InferenceService's own canary.
import type { CanaryRevisions } from "../../platform/serving/native-canary.ts";
import type { PrometheusQuery, VectorSample } from "../../platform/telemetry/prometheus.ts";
import type { CanaryStatsSource, CandidateStats } from "./canary.ts";
import { candidateName } from "./rollout.ts";

export type CanaryMetricsFlavour = "infer" | "knative-queue-proxy";

export interface PrometheusCanaryStatsOptions {
  readonly prometheus: PrometheusQuery;
  readonly flavour?: CanaryMetricsFlavour | undefined;
  /** Namespace of the InferenceServices (knative-queue-proxy flavour). */
  readonly namespace?: string | undefined;
  /** The canary's two revisions (knative-queue-proxy flavour): KServe's status.components.predictor. */
  readonly revisions?: ((deployment: string) => Promise<CanaryRevisions | undefined>) | undefined;
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

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function queries(flavour: CanaryMetricsFlavour, deployment: string, window: string, namespace: string, revs: CanaryRevisions | undefined): Queries | undefined {
  if (flavour === "knative-queue-proxy") {
    // Each revision's queue-proxy counts every request its pods answered; the revision names which version answered.
    if (!revs) return undefined;
    const names = new Map([revs.stable, revs.candidate].map((r) => [r.revision, candidateName(deployment, r.version)]));
    const sel = `namespace_name=${q(namespace)}, revision_name=~${q([...names.keys()].map(escape).join("|"))}`;
    return {
      by: "revision_name",
      requests: `sum by (revision_name) (increase(revision_app_request_count{${sel}}[${window}]))`,
      errors: `sum by (revision_name) (increase(revision_app_request_count{${sel}, response_code_class="5xx"}[${window}]))`,
      latency: (p) => `histogram_quantile(${p}, sum by (le, revision_name) (increase(revision_app_request_latencies_bucket{${sel}}[${window}])))`,
      toMs: 1,
      candidate: (label) => names.get(label) ?? label,
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
    const flavour = this.#o.flavour ?? "infer";
    const revs = flavour === "knative-queue-proxy" ? await this.#o.revisions?.(deployment) : undefined;
    const qs = queries(flavour, deployment, `${seconds}s`, this.#o.namespace ?? "default", revs);
    if (!qs) return undefined;
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
    // increase() extrapolates each series to the range's edges on its own: counts are estimates, rounded to whole
    // requests, and errors (another series) can come out above requests; a success rate never goes below 0.
    for (const [candidate, n] of r) {
      const requests = Math.round(n);
      out[candidate] = {
        requests,
        errors: Math.min(requests, Math.round(e.get(candidate) ?? 0)),
        p50Ms: (l50.get(candidate) ?? 0) * qs.toMs,
        p95Ms: (l95.get(candidate) ?? 0) * qs.toMs,
        p99Ms: (l99.get(candidate) ?? 0) * qs.toMs,
      };
    }
    return out;
  }
}
