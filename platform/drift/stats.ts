// Drift statistics: PSI and the two-sample KS statistic over binned distributions, plus the binning they share.
import type { CategoricalBaseline, FeatureBaseline, NumericBaseline } from "./baseline.ts";

/** Empty bins are floored at this proportion so PSI stays finite (docs/artifacts.md). */
export const PSI_EPSILON = 1e-4;

export const DRIFT_METHODS = ["psi", "ks"] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];
export const isDriftMethod = (v: unknown): v is DriftMethod => DRIFT_METHODS.includes(v as DriftMethod);

/**
 * Bin of `v` for these edges: bin i covers [edges[i], edges[i+1]); values below the first edge count in the first bin,
 * values at or above the last edge in the last bin (the rule the baseline writer uses).
 */
export function binIndex(edges: readonly number[], v: number): number {
  const last = edges.length - 2;
  if (last < 0) return 0;
  let lo = 0;
  let hi = last;
  // Largest i in [0, last] with edges[i] <= v (0 when v is below every edge).
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (v >= (edges[mid] ?? Infinity)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Proportion of `values` in each bin of a numeric baseline. Non-finite values are ignored. */
export function numericProportions(base: NumericBaseline, values: Iterable<number>): number[] {
  const counts = new Array<number>(base.proportions.length).fill(0);
  let n = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const i = binIndex(base.edges, v);
    counts[i] = (counts[i] ?? 0) + 1;
    n++;
  }
  return n === 0 ? counts : counts.map((c) => c / n);
}

/**
 * Proportions of the baseline's categories in `values`, plus one trailing "unseen" bucket (expected 0) for values the
 * baseline never saw: a new category is drift too.
 */
export function categoricalProportions(base: CategoricalBaseline, values: Iterable<string>): { expected: number[]; actual: number[] } {
  const index = new Map(base.categories.map((c, i) => [c, i]));
  const counts = new Array<number>(base.categories.length + 1).fill(0);
  let n = 0;
  for (const v of values) {
    const i = index.get(v) ?? base.categories.length;
    counts[i] = (counts[i] ?? 0) + 1;
    n++;
  }
  return { expected: [...base.proportions, 0], actual: n === 0 ? counts : counts.map((c) => c / n) };
}

/** Population Stability Index: sum over bins of (a - e) * ln(a / e), each proportion floored at epsilon. */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) throw new RangeError(`psi: ${expected.length} expected bins vs ${actual.length} actual`);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] ?? 0, epsilon);
    const a = Math.max(actual[i] ?? 0, epsilon);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * Two-sample Kolmogorov-Smirnov statistic on a shared binning: the largest gap between the two cumulative
 * distributions at the bin edges. With a binned baseline this is the exact KS statistic evaluated at those edges.
 */
export function ksStatistic(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError(`ks: ${expected.length} expected bins vs ${actual.length} actual`);
  let ce = 0;
  let ca = 0;
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    ce += expected[i] ?? 0;
    ca += actual[i] ?? 0;
    max = Math.max(max, Math.abs(ce - ca));
  }
  return max;
}

/**
 * Drift score of one feature. Numeric features use `method`; categorical ones (and predictions) always use PSI,
 * because KS needs an ordering that categories do not have.
 */
export function featureScore(base: FeatureBaseline, values: readonly (number | string)[], method: DriftMethod): number {
  if (base.type === "numeric") {
    const actual = numericProportions(base, numbersOf(values));
    return method === "ks" ? ksStatistic(base.proportions, actual) : psi(base.proportions, actual);
  }
  const { expected, actual } = categoricalProportions(base, values.map((v) => String(v)));
  return psi(expected, actual);
}

function* numbersOf(values: readonly (number | string)[]): Iterable<number> {
  for (const v of values) if (typeof v === "number") yield v;
}
