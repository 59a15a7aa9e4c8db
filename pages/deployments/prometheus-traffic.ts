// Knative mode's deployment traffic: every infer replica's per-candidate series read from Prometheus (the queries the
// canary decisions use), and the running canaries from the StateStore; the embedded mode's tallies are the other adapter.
import type { CanaryRecords, CanaryStatsSource } from "../../functions/deploy-model/canary.ts";
import type { UiCanary, UiTraffic } from "../deps.ts";

export interface PrometheusTrafficOptions {
  /** infer's per-candidate series (functions/deploy-model/prometheus-stats.ts, flavour "infer"). */
  readonly stats: CanaryStatsSource;
  /** KServe's own canaries: the two revisions' queue-proxy series (flavour "knative-queue-proxy"), while one runs. */
  readonly nativeCanaryStats?: CanaryStatsSource | undefined;
  readonly canaries: Pick<CanaryRecords, "get">;
  /** How far back the figures reach when no canary runs (default one hour). */
  readonly windowMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

export const PROMETHEUS_TRAFFIC_SOURCE =
  "From Prometheus: every infer replica's requests over the last hour (while a canary runs: since it started), as the canary decision counts them; counts are Prometheus's increase() estimates, and p50 and p99 are estimated from the latency histogram's buckets.";

export function prometheusTraffic(o: PrometheusTrafficOptions): UiTraffic {
  const now = o.now ?? Date.now;
  const canary = async (name: string): Promise<UiCanary | undefined> => {
    const c = await o.canaries.get(name);
    return c && { stable: c.stable, candidate: c.candidate, percent: c.percent, startedAt: c.startedAt, decideAfterRequests: c.policy.decideAfterRequests, decideAfterMinutes: c.policy.decideAfterMinutes };
  };
  return {
    source: PROMETHEUS_TRAFFIC_SOURCE,
    canary,
    async stats(name) {
      const running = await o.canaries.get(name);
      const source = running && o.nativeCanaryStats ? o.nativeCanaryStats : o.stats;
      // A canary's progress counts what its decision counts: the candidate's requests since the canary started.
      const since = running?.startedAt ?? now() - (o.windowMs ?? 3_600_000);
      // No series at all is no traffic in the window (infer counts every deployment kind), not an unknown.
      return (await source.stats(name, since)) ?? {};
    },
  };
}

/** Knative mode without FLYWHEEL_PROMETHEUS_URL: no process sees every replica's requests, so nothing is shown. */
export const TRAFFIC_WITHOUT_PROMETHEUS: UiTraffic = {
  unavailable:
    "Traffic is not shown here: in Knative mode every infer replica exports its requests to Prometheus, and this UI reads them from there. Set FLYWHEEL_PROMETHEUS_URL (and FLYWHEEL_PROMETHEUS_TOKEN if needed) on the ui Service.",
  stats: async () => undefined,
};
