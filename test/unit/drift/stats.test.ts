// PSI, KS and binning against hand-computed values.
import { describe, expect, it } from "vitest";
import { parseBaseline } from "../../../platform/drift/baseline.ts";
import { binIndex, categoricalProportions, featureScore, ksStatistic, numericProportions, psi, PSI_EPSILON } from "../../../platform/drift/stats.ts";

describe("psi", () => {
  it.each([
    // (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5) = 0.3 ln 1.6 + 0.3 ln 2.5
    { name: "two bins", e: [0.5, 0.5], a: [0.8, 0.2], want: 0.3 * Math.log(1.6) + 0.3 * Math.log(2.5) },
    { name: "identical", e: [0.2, 0.3, 0.5], a: [0.2, 0.3, 0.5], want: 0 },
    // empty expected bin floored at 1e-4: (0.5-1)ln(0.5) + (0.5-1e-4)ln(0.5/1e-4)
    { name: "empty bin uses epsilon", e: [1, 0], a: [0.5, 0.5], want: -0.5 * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4) },
    { name: "both empty contributes nothing", e: [1, 0], a: [1, 0], want: 0 },
  ])("$name", ({ e, a, want }) => {
    expect(psi(e, a)).toBeCloseTo(want, 10);
  });

  it("is symmetric in its arguments and positive for any shift", () => {
    expect(psi([0.1, 0.9], [0.4, 0.6])).toBeCloseTo(psi([0.4, 0.6], [0.1, 0.9]), 12);
    expect(psi([0.1, 0.9], [0.4, 0.6])).toBeGreaterThan(0);
  });

  it("documents epsilon 1e-4", () => expect(PSI_EPSILON).toBe(1e-4));
  it("rejects mismatched bins", () => expect(() => psi([1], [0.5, 0.5])).toThrow(RangeError));
});

describe("ksStatistic", () => {
  it.each([
    { e: [0.25, 0.25, 0.5], a: [0.5, 0.25, 0.25], want: 0.25 },
    { e: [1, 0, 0], a: [0, 0, 1], want: 1 },
    { e: [0.3, 0.7], a: [0.3, 0.7], want: 0 },
    { e: [0.1, 0.2, 0.3, 0.4], a: [0.4, 0.3, 0.2, 0.1], want: 0.4 },
  ])("max CDF gap of $e vs $a is $want", ({ e, a, want }) => {
    expect(ksStatistic(e, a)).toBeCloseTo(want, 12);
  });
});

describe("binning", () => {
  const edges = [0, 1, 2, 3, 4];
  it.each([
    [-5, 0],
    [0, 0],
    [0.99, 0],
    [1, 1],
    [2.5, 2],
    [3.999, 3],
    [4, 3],
    [100, 3],
  ])("value %d lands in bin %d", (v, bin) => expect(binIndex(edges, v)).toBe(bin));

  it("numericProportions ignores non-finite values", () => {
    const base = { type: "numeric" as const, edges, proportions: [0.25, 0.25, 0.25, 0.25] };
    expect(numericProportions(base, [0.5, 0.5, 1.5, 3.5, Number.NaN])).toEqual([0.5, 0.25, 0, 0.25]);
  });

  it("categoricalProportions adds an unseen bucket", () => {
    const base = { type: "categorical" as const, categories: ["a", "b"], proportions: [0.5, 0.5] };
    expect(categoricalProportions(base, ["a", "a", "c", "b"])).toEqual({ expected: [0.5, 0.5, 0], actual: [0.5, 0.25, 0.25] });
  });
});

describe("featureScore", () => {
  const b = parseBaseline({
    version: 1,
    features: { x: { type: "numeric", edges: [0, 1, 2, 3, 4], counts: [1, 1, 1, 1] }, c: { type: "categorical", frequencies: { a: 1, b: 1 } } },
  });
  const x = b.features.x;
  const c = b.features.c;
  if (!x || !c) throw new Error("fixture");

  it("psi on a numeric feature: window [0.5,0.25,0,0.25] vs uniform", () => {
    // hand: 0.25 ln 2 + 0 + (1e-4 - 0.25) ln(1e-4/0.25) + 0
    const want = 0.25 * Math.log(2) + (1e-4 - 0.25) * Math.log(1e-4 / 0.25);
    expect(featureScore(x, [0.5, 0.5, 1.5, 3.5], "psi")).toBeCloseTo(want, 10);
  });

  it("ks on a numeric feature", () => {
    // CDFs: .5 .75 .75 1 vs .25 .5 .75 1 -> 0.25
    expect(featureScore(x, [0.5, 0.5, 1.5, 3.5], "ks")).toBeCloseTo(0.25, 12);
  });

  it("categorical features always use psi, whatever the method", () => {
    expect(featureScore(c, ["a", "a", "a", "a"], "ks")).toBeCloseTo(featureScore(c, ["a", "a", "a", "a"], "psi"), 12);
    expect(featureScore(c, ["a", "b"], "psi")).toBeCloseTo(0, 12);
  });
});
