// Drift as Prometheus records it (Knative mode): the recording rules' PSI per feature over all infer replicas, now and
// over time, read with query_range, so every UI replica draws the same chart the alert is decided on.
import { DEFAULT_RULE_OPTIONS, RECORDED } from "../telemetry/rules.ts";
import type { PrometheusQuery, PrometheusRangeQuery } from "../telemetry/prometheus.ts";
import type { DriftPoint } from "./history.ts";

export interface PrometheusDriftVersion {
  readonly model: string;
  readonly version: string;
  /** Rows in the rule's window (all replicas, the largest over features). */
  readonly samples: number;
  /** The latest recorded scores. */
  readonly scores: Readonly<Record<string, number>>;
  /** Recorded scores over the lookback, oldest first. */
  readonly history: readonly DriftPoint[];
}

export interface PrometheusDriftOptions {
  readonly prometheus: PrometheusQuery & PrometheusRangeQuery;
  /** The rules' window (DEFAULT_RULE_OPTIONS.driftWindow, "30m"): names the recorded series. */
  readonly window?: string | undefined;
  /** How far back the chart goes. Default 6 h. */
  readonly lookbackMs?: number | undefined;
  /** Step between chart points. Default 60 s (360 points over 6 h). */
  readonly stepSeconds?: number | undefined;
  readonly now?: (() => number) | undefined;
}

const key = (model: string, version: string): string => `${model}\u0000${version}`;

/** Two queries for every served version at once: the PSI range and the window's row counts. */
export async function prometheusDrift(o: PrometheusDriftOptions, versions: readonly { model: string; version: string }[]): Promise<PrometheusDriftVersion[]> {
  if (versions.length === 0) return [];
  const w = o.window ?? DEFAULT_RULE_OPTIONS.driftWindow;
  const end = (o.now ?? Date.now)();
  const [ranges, totals] = await Promise.all([
    o.prometheus.queryRange(RECORDED.psi(w), end - (o.lookbackMs ?? 6 * 3_600_000), end, o.stepSeconds ?? 60),
    o.prometheus.query(`max by (model, version) (${RECORDED.observations(w)})`),
  ]);
  const byVersion = new Map<string, Map<number, Record<string, number>>>();
  for (const s of ranges) {
    const { model, version, feature } = s.labels;
    if (!model || !version || !feature) continue;
    const points = byVersion.get(key(model, version)) ?? new Map<number, Record<string, number>>();
    byVersion.set(key(model, version), points);
    for (const p of s.points) {
      if (!Number.isFinite(p.value)) continue;
      const at = points.get(p.at) ?? {};
      at[feature] = p.value;
      points.set(p.at, at);
    }
  }
  const samples = new Map(totals.map((t) => [key(t.labels.model ?? "", t.labels.version ?? ""), t.value]));
  const out: PrometheusDriftVersion[] = [];
  for (const { model, version } of versions) {
    const points = byVersion.get(key(model, version));
    if (!points?.size) continue;
    const history = [...points.entries()].sort(([a], [b]) => a - b).map(([at, scores]) => ({ at, scores }));
    out.push({ model, version, samples: Math.round(samples.get(key(model, version)) ?? 0), scores: history.at(-1)?.scores ?? {}, history });
  }
  return out;
}
