// Canary state and decision: the new version runs as an experiment candidate at N%; after M requests to it or T
// minutes, its error rate and latency (the highest quantile the request counts support) are compared with the stable
// version's to promote or roll back.
import type { RolloutPolicy } from "../../platform/policies/rollout.ts";
import type { CandidateStats } from "../../platform/serving/local/experiment.ts";
import type { ServingBackendName } from "../../platform/specs/deployment.ts";

export type { CandidateStats };
export { CanaryStore, StateCanaryStore, importCanaryFile, type CanaryRecords } from "./canary-store.ts";

/**
 * Where canary numbers come from: the embedded router's in-process tallies, or Prometheus' HTTP API (every backend,
 * every replica). `since` (epoch ms) starts the canary window; a source that only keeps live tallies may ignore it.
 */
export interface CanaryStatsSource {
  /** Named in each decision event ("in-process" or "prometheus"). */
  readonly source?: string | undefined;
  stats(deployment: string, since?: number): Promise<Readonly<Record<string, CandidateStats>> | undefined>;
}

/** The numbers a decision was taken on, carried by its event. */
export interface CanaryEvidence {
  readonly source: string;
  readonly windowSeconds: number;
  readonly candidate: CandidateStats & { readonly deployment: string; readonly version: string };
  readonly stable: CandidateStats & { readonly deployment: string; readonly version: string };
}

export interface CanaryRecord {
  /** The user-facing deployment name (the experiment while the canary runs). */
  readonly name: string;
  readonly model: string;
  readonly backend: ServingBackendName;
  readonly stable: { readonly deployment: string; readonly version: string };
  readonly candidate: { readonly deployment: string; readonly version: string };
  readonly percent: number;
  /** epoch ms */
  readonly startedAt: number;
  /** Revision of the experiment; decisions derive their ids from it. */
  readonly revision: string;
  readonly cause: { readonly id: string; readonly traceparent?: string | undefined };
  readonly policy: RolloutPolicy;
}

export type CanaryDecision =
  | { readonly decision: "wait"; readonly reason: string }
  | { readonly decision: "promote" | "rollback"; readonly reason: string; readonly evidence?: CanaryEvidence | undefined };

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

/**
 * Requests that must lie above a quantile, on both sides, before latency is judged on it. The p99 of 30 requests is
 * their slowest one, so one GC pause or cold cache would roll a healthy candidate back (and with histogram buckets it is
 * interpolated inside whichever bucket that one request fell in). 5 keeps the quantile's estimate on several requests:
 * p99 from 500 requests per side, p95 from 100, else p50.
 */
export const TAIL_REQUESTS = 5;

/** The highest of p99 (when the source has it for both sides), p95 and p50 that both sides' request counts support. */
export function latencyQuantile(cand: CandidateStats, base: CandidateStats): { readonly q: "p99" | "p95" | "p50"; readonly candMs: number; readonly baseMs: number } {
  const n = Math.min(cand.requests, base.requests);
  if (cand.p99Ms !== undefined && base.p99Ms !== undefined && n >= TAIL_REQUESTS * 100) return { q: "p99", candMs: cand.p99Ms, baseMs: base.p99Ms };
  if (n >= TAIL_REQUESTS * 20) return { q: "p95", candMs: cand.p95Ms, baseMs: base.p95Ms };
  return { q: "p50", candMs: cand.p50Ms, baseMs: base.p50Ms };
}

/** Decide once the candidate has had decideAfterRequests requests or decideAfterMinutes have passed. */
export function decide(rec: CanaryRecord, stats: Readonly<Record<string, CandidateStats>> | undefined, now: number, source = "in-process"): CanaryDecision {
  const p = rec.policy;
  const none: CandidateStats = { requests: 0, errors: 0, p50Ms: 0, p95Ms: 0 };
  const cand = stats?.[rec.candidate.deployment] ?? none;
  const base = stats?.[rec.stable.deployment] ?? none;
  const elapsedMin = (now - rec.startedAt) / 60_000;
  if (cand.requests < p.decideAfterRequests && elapsedMin < p.decideAfterMinutes) {
    return { decision: "wait", reason: `${cand.requests}/${p.decideAfterRequests} requests, ${elapsedMin.toFixed(1)}/${p.decideAfterMinutes} min` };
  }
  const evidence: CanaryEvidence = {
    source,
    windowSeconds: Math.round((now - rec.startedAt) / 1000),
    candidate: { ...cand, deployment: rec.candidate.deployment, version: rec.candidate.version },
    stable: { ...base, deployment: rec.stable.deployment, version: rec.stable.version },
  };
  const candRate = cand.requests ? cand.errors / cand.requests : 0;
  const baseRate = base.requests ? base.errors / base.requests : 0;
  const { q, candMs, baseMs } = latencyQuantile(cand, base);
  const summary = `after ${cand.requests} canary requests (${source}): success rate ${pct(1 - candRate)} vs ${pct(1 - baseRate)}, ${q} ${candMs.toFixed(1)} ms vs ${baseMs.toFixed(1)} ms`;
  if (cand.requests === 0) return { decision: "rollback", reason: `no traffic reached v${rec.candidate.version} in ${p.decideAfterMinutes} min`, evidence };
  if (candRate - baseRate > p.maxErrorRateIncrease) {
    return { decision: "rollback", reason: `error rate increase ${pct(candRate - baseRate)} > ${pct(p.maxErrorRateIncrease)} ${summary}`, evidence };
  }
  if (baseMs > 0 && base.requests > 0 && candMs > baseMs * p.maxLatencyRatio) {
    return { decision: "rollback", reason: `${q} latency ratio ${(candMs / baseMs).toFixed(2)} > ${p.maxLatencyRatio} ${summary}`, evidence };
  }
  return { decision: "promote", reason: `healthy ${summary}`, evidence };
}
