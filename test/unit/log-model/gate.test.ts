import { describe, expect, it } from "vitest";
import { evaluateGate } from "../../../functions/log-model/gate.ts";
import { GatePolicySchema } from "../../../platform/policies/gate.ts";

const maxAcc = GatePolicySchema.parse({ metric: "accuracy", direction: "maximize", minImprovement: 0.01, floors: { accuracy: 0.8 } });
const minLoss = GatePolicySchema.parse({ metric: "loss", direction: "minimize", minImprovement: 0.05, floors: { loss: 0.5, accuracy: 0.7 }, floorDirections: { accuracy: "maximize" } });

describe("evaluateGate", () => {
  it.each([
    // [label, policy, candidate, champion, passed, reason fragment]
    ["first version above the floor becomes champion", maxAcc, { accuracy: 0.9 }, undefined, true, "no champion yet"],
    ["first version below the floor is rejected", maxAcc, { accuracy: 0.7 }, undefined, false, "below the floor 0.8"],
    ["beats champion by more than minImprovement", maxAcc, { accuracy: 0.95 }, { accuracy: 0.9 }, true, "improvement 0.05 >= 0.01"],
    ["beats champion by exactly minImprovement", maxAcc, { accuracy: 0.91 }, { accuracy: 0.9 }, true, ">= 0.01"],
    ["improves by less than minImprovement", maxAcc, { accuracy: 0.905 }, { accuracy: 0.9 }, false, "< required 0.01"],
    ["worse than champion", maxAcc, { accuracy: 0.85 }, { accuracy: 0.9 }, false, "improvement -0.05"],
    ["better than champion but below the floor", maxAcc, { accuracy: 0.79 }, { accuracy: 0.5 }, false, "below the floor"],
    ["candidate without the metric", maxAcc, { loss: 0.1 }, { accuracy: 0.9 }, false, "candidate has no value for accuracy"],
    ["champion without the metric: floors decide", maxAcc, { accuracy: 0.85 }, { loss: 0.2 }, true, "champion has no value"],
    ["minimize: lower loss wins", minLoss, { loss: 0.2, accuracy: 0.9 }, { loss: 0.3 }, true, "improvement 0.1 >= 0.05"],
    ["minimize: loss above the ceiling", minLoss, { loss: 0.6, accuracy: 0.9 }, undefined, false, "above the ceiling 0.5"],
    ["minimize: secondary floor (maximized) fails", minLoss, { loss: 0.1, accuracy: 0.6 }, { loss: 0.3 }, false, "accuracy 0.6 is below the floor 0.7"],
    ["minimize: not enough improvement", minLoss, { loss: 0.28, accuracy: 0.9 }, { loss: 0.3 }, false, "< required 0.05"],
  ])("%s", (_label, policy, candidate, champion, passed, fragment) => {
    const d = evaluateGate(policy, candidate, champion);
    expect(d.passed).toBe(passed);
    expect(d.result.reasons.join("; ")).toContain(fragment);
    expect(d.result.metric).toBe(policy.metric);
    expect(d.result.direction).toBe(policy.direction);
    expect(d.result.minImprovement).toBe(policy.minImprovement);
    expect(d.result.floors).toEqual(policy.floors);
    expect(d.result.candidate).toBe(candidate[policy.metric as keyof typeof candidate] ?? null);
  });
});
