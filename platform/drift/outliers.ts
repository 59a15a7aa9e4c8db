// Outlier rule for one served value of a numeric feature: outside the baseline's range, or beyond a z-score.
import type { NumericBaseline } from "./baseline.ts";

/** Default |z| above which a value is an outlier (a normal feature's 4σ: about 6 in 100 000 rows). */
export const DEFAULT_OUTLIER_Z = 4;

export interface OutlierTest {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
  readonly z: number;
  (v: number): boolean;
}

/**
 * The baseline carries bins, not moments: mean and variance are those of the binned distribution (each bin's mass
 * spread uniformly over it, so a bin of width w adds w²/12). Edges are the training range (the writers use min/max).
 */
export function outlierTest(base: NumericBaseline, z = DEFAULT_OUTLIER_Z): OutlierTest {
  const edges = base.edges;
  const min = edges[0] ?? -Infinity;
  const max = edges[edges.length - 1] ?? Infinity;
  let mean = 0;
  base.proportions.forEach((p, i) => {
    mean += p * (((edges[i] ?? 0) + (edges[i + 1] ?? 0)) / 2);
  });
  let variance = 0;
  base.proportions.forEach((p, i) => {
    const lo = edges[i] ?? 0;
    const hi = edges[i + 1] ?? 0;
    const mid = (lo + hi) / 2;
    variance += p * ((mid - mean) ** 2 + (hi - lo) ** 2 / 12);
  });
  const std = Math.sqrt(variance);
  const test = (v: number): boolean => !Number.isFinite(v) || v < min || v > max || (std > 0 && Math.abs(v - mean) / std > z);
  return Object.assign(test, { min, max, mean, std, z });
}
