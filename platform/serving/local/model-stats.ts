// Traffic of one served model version from the V2 server's own Prometheus series: requests, server errors and p50/p95/p99.
import type { ServingMetrics } from "./metrics.ts";
import type { CandidateStats } from "./experiment.ts";

/** A model version's traffic, with percentiles estimated from the latency histogram (as histogram_quantile does). */
export interface ModelTraffic extends CandidateStats {
  /** The percentiles come from histogram buckets: each is accurate to its bucket, not to the millisecond. */
  readonly estimated: true;
}

interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * Prometheus's histogram_quantile on cumulative buckets: find the bucket holding the q-th observation and interpolate
 * linearly inside it (the first bucket starts at 0). An answer in the +Inf bucket is the highest finite bound.
 */
export function bucketQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lower;
      const inBucket = b.count - below;
      return inBucket > 0 ? lower + ((b.le - lower) * (rank - below)) / inBucket : lower;
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}

/**
 * Since the process started: every request to the model under `model` at `version` (direct, or routed to it by an
 * experiment or a canary), its 5xx answers (a caller's 4xx is not the model's fault) and its latency percentiles.
 * undefined when the version has served nothing yet.
 */
export async function modelTraffic(metrics: Pick<ServingMetrics, "duration" | "requests">, model: string, version: string): Promise<ModelTraffic | undefined> {
  const mine = (l: Partial<Record<string, string | number>>): boolean => l.model === model && String(l.version) === version;
  const [duration, requests] = await Promise.all([metrics.duration.get(), metrics.requests.get()]);
  let count = 0;
  let errors = 0;
  for (const v of requests.values) {
    if (!mine(v.labels)) continue;
    count += v.value;
    if (Number(v.labels.code) >= 500) errors += v.value;
  }
  const buckets: Bucket[] = [];
  for (const v of duration.values) {
    if (v.metricName !== `${duration.name}_bucket` || !mine(v.labels)) continue;
    // Bucket rows carry `le` beside the histogram's own labels (prom-client types only the declared ones).
    const le: unknown = Object.entries(v.labels).find(([k]) => k === "le")?.[1];
    buckets.push({ le: le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), count: v.value });
  }
  if (count === 0) return undefined;
  const ms = (q: number): number => (bucketQuantile(q, buckets) ?? 0) * 1000;
  return { requests: count, errors, p50Ms: ms(0.5), p95Ms: ms(0.95), p99Ms: ms(0.99), estimated: true };
}
