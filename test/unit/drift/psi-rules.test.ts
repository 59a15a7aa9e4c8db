// Proof that the shipped recording rules compute PSI: promtool test rules, on counters from several replicas, compares
// the recorded PSI with the PSI computed here (platform/drift/stats psi()) from the same counter deltas over the same
// range. Cases: traffic split over 3 replicas, a replica that restarts (counter reset), a replica that scales to zero.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { parseBaseline } from "../../../platform/drift/baseline.ts";
import { baselineBins } from "../../../platform/drift/bins.ts";
import { DRIFT_BASELINE_METRIC, DRIFT_BIN_METRIC } from "../../../platform/drift/counters.ts";
import { psi } from "../../../platform/drift/stats.ts";
import { DEFAULT_RULE_OPTIONS, driftRules, RECORDED } from "../../../platform/telemetry/rules.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const RULES = path.join(root, "manifests/prometheus/rules.yml");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-psi-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Series whose samples cover the whole range agree to this (float rounding only). */
const ALIGNED_TOLERANCE = 1e-6;
/**
 * A replica that vanishes inside the range: increase() extrapolates its last counts by half a scrape interval
 * (Prometheus' rule when a series ends more than 1.1 intervals before the range end), so its share of every bin is
 * scaled by (s + 0.5)/s for s sampled minutes. Other replicas are not, so the proportions move by at most that
 * factor's excess (here 0.5/10 = 5% of that replica's share); PSI moves by less than this bound in these cases.
 */
const EXTRAPOLATED_TOLERANCE = 0.02;

const WINDOW_MIN = 30;
/** Simulated minutes per case. */
const MINUTES = 80;
const W = DEFAULT_RULE_OPTIONS.driftWindow;
const MODEL = "iris";
const VERSION = "7";

const baseline = parseBaseline({
  version: 1,
  features: { petal_length: { type: "numeric", edges: [1, 2, 3, 4, 5, 7], counts: [10, 20, 30, 25, 15] } },
  predictions: { type: "categorical", frequencies: { setosa: 1, versicolor: 1, virginica: 1 } },
});
const bins = baselineBins(baseline);

/** A deterministic generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Cumulative counter values, one per minute; undefined = the replica is gone (no sample). */
type Samples = (number | undefined)[];

interface Replica {
  readonly instance: string;
  /** feature -> bin -> cumulative samples. */
  readonly counters: Map<string, Map<string, Samples>>;
  /** Minutes at which the replica exports (baseline gauges too). */
  readonly alive: (minute: number) => boolean;
}

interface ReplicaPlan {
  readonly instance: string;
  /** Relative weights per bin label (the replica's served distribution), by feature. */
  readonly weights: (feature: string, bins: readonly string[]) => number[];
  readonly perMinute: number;
  readonly restartAt?: number;
  readonly goneAt?: number;
  readonly seed: number;
}

function simulate(plan: ReplicaPlan, minutes: number): Replica {
  const next = rng(plan.seed);
  const counters = new Map<string, Map<string, Samples>>();
  for (const b of bins) {
    const w = plan.weights(b.feature, b.labels);
    const sum = w.reduce((a, x) => a + x, 0);
    const series = new Map<string, Samples>(b.labels.map((l) => [l, []]));
    const totals = b.labels.map(() => 0);
    for (let m = 0; m <= minutes; m++) {
      if (plan.goneAt !== undefined && m >= plan.goneAt) {
        for (const l of b.labels) series.get(l)?.push(undefined);
        continue;
      }
      // A restarted process starts its counters at zero again.
      if (m === plan.restartAt) totals.fill(0);
      b.labels.forEach((l, i) => {
        if (m > 0 && m !== plan.restartAt) totals[i] = (totals[i] ?? 0) + Math.round((plan.perMinute * (w[i] ?? 0)) / sum + next() * 3);
        series.get(l)?.push(totals[i]);
      });
    }
    counters.set(b.feature, series);
  }
  return { instance: plan.instance, counters, alive: (m) => plan.goneAt === undefined || m < plan.goneAt };
}

/** What increase() sums without extrapolation: positive steps, a drop being a reset (the new value is the step). */
function delta(samples: Samples, from: number, to: number): number {
  let d = 0;
  let prev: number | undefined;
  for (let m = from; m <= to; m++) {
    const v = samples[m];
    if (v === undefined) continue;
    if (prev !== undefined) d += v >= prev ? v - prev : v;
    prev = v;
  }
  return d;
}

/** PSI per feature from the counter deltas of all replicas over (t - window, t], as the rules define it. */
function expectedPsi(replicas: readonly Replica[], t: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of bins) {
    const counts = b.labels.map((l) => replicas.reduce((n, r) => n + delta(r.counters.get(b.feature)?.get(l) ?? [], t - WINDOW_MIN, t), 0));
    const total = counts.reduce((a, c) => a + c, 0);
    if (total > 0) out.set(b.feature, psi(b.expected, counts.map((c) => c / total)));
  }
  return out;
}

function promSeries(replicas: readonly Replica[], minutes: number): { series: string; values: string }[] {
  const out: { series: string; values: string }[] = [];
  const fmt = (xs: readonly (number | undefined)[]): string => xs.map((x) => (x === undefined ? "_" : String(x))).join(" ");
  for (const r of replicas) {
    for (const b of bins) {
      b.labels.forEach((bin, i) => {
        const labels = `model="${MODEL}",version="${VERSION}",feature="${b.feature}",bin="${bin}",instance="${r.instance}"`;
        out.push({ series: `${DRIFT_BIN_METRIC}{${labels}}`, values: fmt(r.counters.get(b.feature)?.get(bin) ?? []) });
        const gauge = Array.from({ length: minutes + 1 }, (_, m) => (r.alive(m) ? (b.expected[i] ?? 0) : undefined));
        out.push({ series: `${DRIFT_BASELINE_METRIC}{${labels}}`, values: fmt(gauge) });
      });
    }
  }
  return out;
}

interface Check {
  readonly at: number;
  readonly tolerance: number;
}

/** One promtool test: at each check, |recorded - expected| < tolerance must hold for every feature. */
function promtoolTest(name: string, replicas: readonly Replica[], minutes: number, checks: readonly Check[], alertAt?: number): { out: string; status: number | null; expected: Map<number, Map<string, number>> } {
  const expected = new Map<number, Map<string, number>>();
  const exprTests = checks.flatMap((c) => {
    const psis = expectedPsi(replicas, c.at);
    expected.set(c.at, psis);
    return [...psis].map(([feature, value]) => ({
      // `bool` makes the answer exactly 1 or 0, so promtool's exact comparison checks the tolerance.
      expr: `abs(${RECORDED.psi(W)}{feature="${feature}"} - ${value.toPrecision(17)}) < bool ${c.tolerance}`,
      eval_time: `${c.at}m`,
      exp_samples: [{ labels: `{model="${MODEL}",version="${VERSION}",feature="${feature}"}`, value: 1 }],
    }));
  });
  const test = {
    rule_files: [RULES],
    evaluation_interval: "1m",
    tests: [
      {
        interval: "1m",
        input_series: promSeries(replicas, minutes),
        promql_expr_test: exprTests,
        ...(alertAt === undefined ? {} : { alert_rule_test: [{ eval_time: `${alertAt}m`, alertname: "ModelDriftDetected", exp_alerts: [firing(Math.max(...(expected.get(alertAt)?.values() ?? [])))] }] }),
      },
    ],
  };
  const file = path.join(tmp, `${name}.test.yml`);
  fs.writeFileSync(file, YAML.stringify(test, { lineWidth: 0 }));
  const res = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8" });
  if (res.error) throw new Error("promtool not found: install the Debian package prometheus");
  return { out: `${res.stdout}${res.stderr}`, status: res.status, expected };
}

/** The alert as the shipped rule renders it, for a largest PSI of `value`. */
function firing(value: number): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } {
  const rule = driftRules().rules.find((r) => r.alert === "ModelDriftDetected");
  const render = (t: string): string =>
    t.replaceAll("{{ $labels.model }}", MODEL).replaceAll("{{ $labels.version }}", VERSION).replaceAll('{{ $value | printf "%.3f" }}', value.toFixed(3));
  return {
    exp_labels: { ...rule?.labels, model: MODEL, version: VERSION },
    exp_annotations: Object.fromEntries(Object.entries(rule?.annotations ?? {}).map(([k, v]) => [k, render(v)])),
  };
}

const asBaseline = (feature: string, labels: readonly string[]): number[] => {
  const b = bins.find((x) => x.feature === feature);
  return labels.map((_, i) => b?.expected[i] ?? 0);
};
/** Drifted: mass pushed into the last numeric bin; predictions mostly one class plus some never seen. */
const drifted = (feature: string, labels: readonly string[]): number[] =>
  feature === "petal_length" ? [1, 1, 2, 6, 30] : labels.map((l) => (l === "virginica" ? 8 : l === "__unseen__" ? 1 : 1));

describe("recorded PSI (promtool test rules) equals PSI from the counter deltas", () => {
  it("traffic split over 3 replicas with different mixes: agree to 1e-6, and ModelDriftDetected fires", () => {
    const replicas = [
      simulate({ instance: "a", weights: drifted, perMinute: 40, seed: 1 }, MINUTES),
      simulate({ instance: "b", weights: asBaseline, perMinute: 25, seed: 2 }, MINUTES),
      simulate({ instance: "c", weights: drifted, perMinute: 10, seed: 3 }, MINUTES),
    ];
    const r = promtoolTest("three-replicas", replicas, MINUTES, [30, 40, 45, 50, 60].map((at) => ({ at, tolerance: ALIGNED_TOLERANCE })), 45);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
    // Not vacuous: the mix drifts well past the threshold.
    expect(r.expected.get(60)?.get("petal_length")).toBeGreaterThan(DEFAULT_RULE_OPTIONS.driftThreshold);
  });

  it("a replica whose process restarts (counters reset to zero) inside the range: agree to 1e-6", () => {
    const replicas = [
      simulate({ instance: "a", weights: drifted, perMinute: 30, seed: 4, restartAt: 37 }, MINUTES),
      simulate({ instance: "b", weights: asBaseline, perMinute: 30, seed: 5 }, MINUTES),
      simulate({ instance: "c", weights: asBaseline, perMinute: 30, seed: 6, restartAt: 52 }, MINUTES),
    ];
    const r = promtoolTest("restart", replicas, MINUTES, [40, 50, 55, 60].map((at) => ({ at, tolerance: ALIGNED_TOLERANCE })));
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
    // The reset matters: without reset handling the restarted replica's bins would go negative or vanish.
    const naive = replicas[0]?.counters.get("petal_length")?.get("4") ?? [];
    expect((naive[60] ?? 0) - (naive[30] ?? 0)).toBeLessThan(delta(naive, 30, 60));
  });

  it("a replica that scales to zero: within the stated extrapolation tolerance while it is in the range, 1e-6 once it left", () => {
    const replicas = [
      simulate({ instance: "a", weights: drifted, perMinute: 50, seed: 7, goneAt: 41 }, MINUTES),
      simulate({ instance: "b", weights: asBaseline, perMinute: 20, seed: 8 }, MINUTES),
      simulate({ instance: "c", weights: asBaseline, perMinute: 20, seed: 9 }, MINUTES),
    ];
    const checks = [
      { at: 40, tolerance: ALIGNED_TOLERANCE },
      { at: 45, tolerance: EXTRAPOLATED_TOLERANCE },
      { at: 60, tolerance: EXTRAPOLATED_TOLERANCE },
      { at: 75, tolerance: ALIGNED_TOLERANCE },
    ];
    const r = promtoolTest("scale-to-zero", replicas, MINUTES, checks);
    expect(r.out).toContain("SUCCESS");
    expect(r.status).toBe(0);
    // The vanished replica's traffic still counts after it left (its counters stay in the range): PSI differs from
    // what the survivors alone would give.
    const survivors = expectedPsi(replicas.slice(1), 60).get("petal_length") ?? 0;
    expect(Math.abs((r.expected.get(60)?.get("petal_length") ?? 0) - survivors)).toBeGreaterThan(0.1);
  });

  it("a deliberately wrong expectation fails promtool (the check is not vacuous)", () => {
    const replicas = [simulate({ instance: "a", weights: drifted, perMinute: 40, seed: 1 }, MINUTES)];
    const good = expectedPsi(replicas, 40).get("petal_length") ?? 0;
    const test = {
      rule_files: [RULES],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: promSeries(replicas, MINUTES),
          promql_expr_test: [{ expr: `abs(${RECORDED.psi(W)}{feature="petal_length"} - ${good + 1e-5}) < bool ${ALIGNED_TOLERANCE}`, eval_time: "40m", exp_samples: [{ labels: `{model="${MODEL}",version="${VERSION}",feature="petal_length"}`, value: 1 }] }],
        },
      ],
    };
    const file = path.join(tmp, "wrong.test.yml");
    fs.writeFileSync(file, YAML.stringify(test, { lineWidth: 0 }));
    const res = spawnSync("promtool", ["test", "rules", file], { encoding: "utf8" });
    expect(res.status).not.toBe(0);
  });
});
