// DriftCounters: every bin series exists once the baseline loads, served values land in the baseline's bins, outliers
// are counted per feature, the series per version are bounded by the baseline, and the exposition passes promtool.
import { spawnSync } from "node:child_process";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseBaseline } from "../../../platform/drift/baseline.ts";
import { seriesPerVersion } from "../../../platform/drift/bins.ts";
import { DRIFT_BASELINE_METRIC, DRIFT_BIN_METRIC, DriftCounters, fanOut, OUTLIER_METRIC } from "../../../platform/drift/counters.ts";
import { outlierTest } from "../../../platform/drift/outliers.ts";

const baseline = parseBaseline({
  version: 1,
  features: {
    x: { type: "numeric", edges: [0, 1, 2, 3, 4], counts: [1, 2, 3, 4] },
    colour: { type: "categorical", frequencies: { "1": 3, "2": 1 } },
  },
  predictions: { type: "categorical", frequencies: { a: 0.5, b: 0.5 } },
});

/** A scrape. Each new series shows 0 at its first scrape (else increase() would lose its first counts), so read twice. */
async function values(registry: Registry, name: string, scrapes = 2): Promise<{ labels: Partial<Record<string, string | number>>; value: number }[]> {
  let out: { labels: Partial<Record<string, string | number>>; value: number }[] = [];
  for (let i = 0; i < scrapes; i++) out = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return out;
}

function setup(loader = async (model: string) => (model === "iris" ? baseline : undefined)) {
  const registry = new Registry();
  const counters = new DriftCounters({ registry, loadBaseline: loader });
  return { registry, counters };
}

describe("DriftCounters", () => {
  it("counts values into the baseline's bins (numeric by index, categories by name, unseen apart) and exports the baseline", async () => {
    const { registry, counters } = setup();
    counters.observe({ model: "iris", version: "1", features: { x: [0.5, 3.5, 3.9, -7], colour: [1, 2, 9] }, predictions: ["a", "zzz"] });
    await counters.settled();
    counters.observe({ model: "iris", version: "1", features: { x: [2.5], unknown: [1] }, predictions: ["b"] });
    // First scrape of a new series: every bin at 0, so Prometheus' increase() counts from there.
    expect((await values(registry, DRIFT_BIN_METRIC, 1)).every((v) => v.value === 0)).toBe(true);
    const bins = await values(registry, DRIFT_BIN_METRIC);
    const get = (feature: string, bin: string) => bins.find((v) => v.labels.feature === feature && v.labels.bin === bin)?.value;
    expect([get("x", "0"), get("x", "1"), get("x", "2"), get("x", "3")]).toEqual([2, 0, 1, 2]);
    expect([get("colour", "1"), get("colour", "2"), get("colour", "__unseen__")]).toEqual([1, 1, 1]);
    expect([get("__prediction__", "a"), get("__prediction__", "b"), get("__prediction__", "__unseen__")]).toEqual([1, 1, 1]);
    expect(bins.some((v) => v.labels.feature === "unknown")).toBe(false);
    const base = await values(registry, DRIFT_BASELINE_METRIC);
    expect(base.find((v) => v.labels.feature === "x" && v.labels.bin === "3")?.value).toBeCloseTo(0.4, 12);
    expect(base.find((v) => v.labels.feature === "colour" && v.labels.bin === "__unseen__")?.value).toBe(0);
  });

  it("counts outliers: out of range and beyond the z-score", async () => {
    const { registry, counters } = setup();
    counters.observe({ model: "iris", version: "1", features: { x: [-0.1, 4.1, 2, 1.5] }, predictions: [] });
    await counters.settled();
    const out = await values(registry, OUTLIER_METRIC);
    expect(out.find((v) => v.labels.feature === "x")?.value).toBe(2);
    const t = outlierTest({ type: "numeric", edges: [0, 10, 20, 1000], proportions: [0.5, 0.499, 0.001] }, 3);
    expect(t(500)).toBe(true); // inside the range, far beyond 3σ
    expect(t(12)).toBe(false);
  });

  it("keeps one series set per version, bounded by the baseline, whatever the traffic", async () => {
    const { registry, counters } = setup();
    for (let i = 0; i < 200; i++) counters.observe({ model: "iris", version: "1", features: { x: [Math.random() * 100 - 50], colour: [i] }, predictions: [`p${i}`] });
    await counters.settled();
    const n = (await values(registry, DRIFT_BIN_METRIC)).length + (await values(registry, DRIFT_BASELINE_METRIC)).length + (await values(registry, OUTLIER_METRIC)).length;
    expect(n).toBe(seriesPerVersion(baseline).total);
    // x: 4 bins, colour: 2 + unseen, predictions: 2 + unseen -> 10 bins, a counter and a gauge each, 1 outlier counter.
    expect(seriesPerVersion(baseline)).toEqual({ bins: 10, counters: 10, gauges: 10, outliers: 1, total: 21 });
    counters.forget("iris", "1");
    expect((await values(registry, DRIFT_BIN_METRIC)).length).toBe(0);
  });

  it("a version without a baseline exports nothing; fanOut feeds every observer even when one throws", async () => {
    const { registry, counters } = setup();
    const seen: string[] = [];
    const obs = fanOut({ observe: () => { throw new Error("boom"); } }, counters, { observe: (o) => void seen.push(o.version) });
    expect(() => obs.observe({ model: "wine", version: "2", features: { x: [1] }, predictions: ["a"] })).toThrow("boom");
    await counters.settled();
    expect(seen).toEqual(["2"]);
    expect(await values(registry, DRIFT_BIN_METRIC)).toEqual([]);
  });

  it("the exposition passes promtool check metrics", async () => {
    const { registry, counters } = setup();
    counters.observe({ model: "iris", version: "1", features: { x: [1] }, predictions: ["a"] });
    await counters.settled();
    const res = spawnSync("promtool", ["check", "metrics"], { input: await registry.metrics(), encoding: "utf8" });
    if (res.error) throw new Error("promtool not found: install the Debian package prometheus");
    expect(`${res.stdout}${res.stderr}`).toBe("");
    expect(res.status).toBe(0);
  });
});
