// The bin labels of a baseline, shared by the exported counters, the recording rules' inputs and the tests.
import type { Baseline, FeatureBaseline } from "./baseline.ts";
import { binIndex } from "./stats.ts";

/** Feature label under which prediction-distribution drift is exported. */
export const PREDICTION_FEATURE = "__prediction__";
/** Bin of a categorical value (or prediction) the baseline never saw: expected proportion 0, floored at epsilon. */
export const UNSEEN_BIN = "__unseen__";

/** One feature's bins: labels in order and the baseline proportion of each. */
export interface FeatureBins {
  readonly feature: string;
  readonly labels: readonly string[];
  readonly expected: readonly number[];
  /** Bin label of one served value. */
  bin(v: number | string): string;
}

/**
 * Numeric bins are labelled by index ("0".."k-1", the baseline's own bins); categorical ones by category plus
 * `__unseen__`. So a version exports at most Σ(bins) + categories + 1 bin series, however varied its traffic.
 */
export function featureBins(feature: string, base: FeatureBaseline): FeatureBins {
  if (base.type === "numeric") {
    const labels = base.proportions.map((_, i) => String(i));
    return {
      feature,
      labels,
      expected: base.proportions,
      bin: (v) => {
        const n = typeof v === "number" ? v : Number(v);
        return labels[binIndex(base.edges, Number.isFinite(n) ? n : 0)] ?? "0";
      },
    };
  }
  const known = new Set(base.categories);
  return {
    feature,
    labels: [...base.categories, UNSEEN_BIN],
    expected: [...base.proportions, 0],
    bin: (v) => {
      const s = String(v);
      return known.has(s) ? s : UNSEEN_BIN;
    },
  };
}

/** Every binned feature of a version, predictions last (under PREDICTION_FEATURE). */
export function baselineBins(baseline: Baseline): FeatureBins[] {
  const out = Object.entries(baseline.features).map(([name, f]) => featureBins(name, f));
  if (baseline.predictions) out.push(featureBins(PREDICTION_FEATURE, baseline.predictions));
  return out;
}

/** Series one version exports per replica: a counter and a proportion gauge per bin, an outlier counter per feature. */
export function seriesPerVersion(baseline: Baseline): { bins: number; counters: number; gauges: number; outliers: number; total: number } {
  const bins = baselineBins(baseline).reduce((n, b) => n + b.labels.length, 0);
  const outliers = Object.values(baseline.features).filter((f) => f.type === "numeric").length;
  return { bins, counters: bins, gauges: bins, outliers, total: 2 * bins + outliers };
}
