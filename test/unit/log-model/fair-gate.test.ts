// The fair gate: a tie does not promote by default, scores on a shared holdout replace recorded metrics, and a
// champion that could not be scored blocks promotion. The ONNX evaluator runs the real onnxruntime on real models.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_PARAMS, run } from "../../../examples/iris-node/train.ts";
import { loadIris, rng } from "../../../examples/iris-node/data.ts";
import { commandEvaluator, onnxEvaluator, readHoldout } from "../../../functions/log-model/evaluate.ts";
import { evaluateGate } from "../../../functions/log-model/gate.ts";
import { GatePolicySchema } from "../../../platform/policies/gate.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fair-gate-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const policy = GatePolicySchema.parse({ floors: { accuracy: 0.5 } });
const evaluation = (candidate: number, champion: number | null) => ({ metric: "accuracy", method: "onnxruntime", dataset: "recent", source: "window", rows: 90, candidate, champion, championVersion: "1" });

describe("evaluateGate", () => {
  it.each([
    ["a tie is rejected by default", policy, 0.9, 0.9, false, /a tie does not promote/],
    ["a tie promotes with allowTie", GatePolicySchema.parse({ allowTie: true }), 0.9, 0.9, true, /improvement 0 >= 0/],
    ["a worse candidate is rejected", policy, 0.85, 0.9, false, /improvement -0.05 < required 0/],
    ["minImprovement is required", GatePolicySchema.parse({ minImprovement: 0.1 }), 0.95, 0.9, false, /< required 0.1/],
    ["a better candidate promotes", policy, 0.95, 0.9, true, /improvement 0.05 >= 0/],
  ])("%s", (_name, p, cand, champ, passed, reason) => {
    const d = evaluateGate(p, { accuracy: cand }, { accuracy: champ });
    expect(d.passed).toBe(passed);
    expect(d.result.reasons.join("; ")).toMatch(reason);
  });

  it("judges on the shared holdout, not on the metrics each version recorded on its own data", () => {
    // Recorded: the champion looks better (0.97 on old data); on the recent holdout the candidate wins 0.94 vs 0.38.
    const d = evaluateGate(policy, { accuracy: 0.9 }, { accuracy: 0.97 }, evaluation(0.94, 0.38));
    expect(d.passed).toBe(true);
    expect(d.result).toMatchObject({ candidate: 0.94, champion: 0.38, evaluation: { dataset: "recent", rows: 90 } });
    expect(d.result.reasons[0]).toMatch(/same holdout: recent, 90 rows, by onnxruntime/);
  });

  it("rejects when the champion could not be scored on the holdout", () => {
    const d = evaluateGate(policy, { accuracy: 0.9 }, { accuracy: 0.8 }, evaluation(0.94, null));
    expect(d.passed).toBe(false);
    expect(d.result.reasons.join("; ")).toMatch(/could not be scored/);
  });
});

describe("evaluators", () => {
  const base = loadIris();
  const shifted = (seed: number, n: number) => {
    const r = rng(seed);
    return Array.from({ length: n }, () => {
      const s = base[Math.floor(r() * base.length)] ?? { x: [0, 0, 0, 0], y: 0 };
      return { x: s.x.map((v, j) => v + ([1.0, -0.5, 1.5, 0.6][j] ?? 0)), y: s.y };
    });
  };
  const old = run(DEFAULT_PARAMS, path.join(tmp, "old"));
  const fresh = run({ ...DEFAULT_PARAMS, baseFraction: 0.05 }, path.join(tmp, "new"), () => new Date(), { base, baseUri: "iris.csv", window: shifted(2, 300), windowInfo: {} });

  it("onnxruntime scores both models on the new model's recent holdout; the new one is better there", async () => {
    const holdout = readHoldout(path.join(fresh.outDir, "holdout.csv"));
    expect(holdout.rows.length).toBeGreaterThanOrEqual(80);
    const a = await onnxEvaluator.accuracy(path.join(old.outDir, "model"), holdout);
    const b = await onnxEvaluator.accuracy(path.join(fresh.outDir, "model"), holdout);
    // The runtime's answer matches the trainer's own float32 forward pass on the same rows.
    expect(b).toBeCloseTo(fresh.metrics.accuracy, 10);
    expect(b).toBeGreaterThan(0.85);
    expect(a).toBeLessThan(0.6);
  });

  it("a pluggable evaluation step is a command given the model dir and the holdout CSV", async () => {
    const script = path.join(tmp, "eval.mjs");
    fs.writeFileSync(script, "const [dir, csv] = process.argv.slice(2); console.log('scoring', dir); console.log(JSON.stringify({accuracy: csv.endsWith('.csv') ? 0.75 : 0}));\n");
    const e = commandEvaluator([process.execPath, script]);
    expect(await e.accuracy("/m", readHoldout(path.join(fresh.outDir, "holdout.csv")))).toBe(0.75);
    const bad = commandEvaluator([process.execPath, "-e", "console.log('no json')"]);
    await expect(bad.accuracy("/m", readHoldout(path.join(fresh.outDir, "holdout.csv")))).rejects.toThrow(/printed no/);
  });
});
