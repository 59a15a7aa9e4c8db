// DriftMonitor on real data: the Iris example's own baseline.json parses, Iris-like traffic stays under the rule's
// threshold, and covariate or prediction shift crosses it.
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { baseline as irisBaseline } from "../../../examples/iris-node/artifacts.ts";
import { FEATURES, LABELS, loadIris, rng, type Sample } from "../../../examples/iris-node/data.ts";
import { predict, train } from "../../../examples/iris-node/model.ts";
import { DriftMonitor, parseBaseline, PREDICTION_FEATURE } from "../../../platform/drift/index.ts";

const samples = loadIris();
const model = train(samples, { epochs: 300, lr: 0.1, seed: 7, classes: LABELS.length });
const baseline = parseBaseline(JSON.parse(JSON.stringify(irisBaseline(model, samples))));

/** n rows resampled from Iris, each row transformed, observed as requests of 10 rows with the model's predictions. */
async function scores(n: number, pick: (s: Sample) => boolean, shift: (x: readonly number[]) => number[] = (x) => [...x], seed = 1) {
  const monitor = new DriftMonitor({ registry: new Registry(), loadBaseline: async () => baseline, windowSize: 1000, minSamples: 100 });
  const pool = samples.filter(pick);
  const rand = rng(seed);
  for (let i = 0; i < n; i += 10) {
    const rows = Array.from({ length: 10 }, () => shift(pool[Math.floor(rand() * pool.length)]?.x ?? []));
    const features = Object.fromEntries(FEATURES.map((f, j) => [f, rows.map((r) => r[j] ?? 0)]));
    monitor.observe({ model: "iris", version: "1", features, predictions: predict(model, rows).map((c) => LABELS[c] ?? String(c)) });
  }
  await monitor.flush();
  const snap = monitor.snapshot("iris", "1");
  monitor.close();
  if (!snap) throw new Error("no snapshot");
  return snap;
}

describe("drift on Iris", () => {
  it("the example trainer's baseline.json is a valid baseline with every feature and the predictions", () => {
    expect(Object.keys(baseline.features).sort()).toEqual([...FEATURES].sort());
    expect(baseline.predictions?.categories).toEqual([...LABELS]);
  });

  it.each([1, 2, 3])("Iris-like traffic (seed %i) stays below the 0.2 threshold on every feature", async (seed) => {
    const s = await scores(600, () => true, undefined, seed);
    expect(Object.keys(s.scores)).toHaveLength(FEATURES.length + 1);
    expect(Math.max(...Object.values(s.scores))).toBeLessThan(0.2);
    expect(s.drifted).toBe(false);
  });

  it("a +1.5 cm shift of petal length is drift on that feature", async () => {
    const s = await scores(600, () => true, (x) => x.map((v, j) => (FEATURES[j] === "petal_length" ? v + 1.5 : v)));
    expect(s.scores.petal_length).toBeGreaterThan(0.2);
    expect(s.scores.sepal_width).toBeLessThan(0.2);
    expect(s.drifted).toBe(true);
  });

  it("traffic of one species only shows up as prediction drift too", async () => {
    const s = await scores(600, (x) => x.y === 0);
    expect(s.scores[PREDICTION_FEATURE]).toBeGreaterThan(0.2);
    expect(s.drifted).toBe(true);
  });
});
