// A model's layer of the policies file overrides only the fields it names; the defaults layer keeps the rest.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../platform/errors.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";

const YAML = `defaults:
  gate: {metric: accuracy, minImprovement: 0.01, floors: {accuracy: 0.8}}
  rollout: {strategy: canary, canaryPercent: 20}
  retrain: {cooldownMinutes: 5, dailyCap: 9}
models:
  iris:
    gate: {minImprovement: 0.05}
    rollout: {decideAfterRequests: 50}
    retrain: {dailyCap: 1}
`;

describe("policy layers", () => {
  it("keeps the defaults layer's fields that a model layer does not name", () => {
    const iris = parsePolicies(YAML).forModel("iris");
    expect(iris.gate.floors).toEqual({ accuracy: 0.8 });
    expect(iris.gate.minImprovement).toBe(0.05);
    expect(iris.rollout).toMatchObject({ strategy: "canary", canaryPercent: 20, decideAfterRequests: 50 });
    expect(iris.retrain).toMatchObject({ cooldownMinutes: 5, dailyCap: 1, maxInFlight: 1 });
  });

  it("still fills the schema's defaults where no layer sets a field", () => {
    const other = parsePolicies(YAML).forModel("other");
    expect(other.gate).toMatchObject({ direction: "maximize", allowTie: false, minImprovement: 0.01 });
  });

  it("names the field of a bad override, and refuses unknown ones", () => {
    expect(() => parsePolicies("models:\n  iris:\n    gate: {minImprovement: -1}\n")).toThrow(/policies\.models\.iris\.gate\.minImprovement/);
    expect(() => parsePolicies("models:\n  iris:\n    gate: {minImprovment: 1}\n")).toThrow(ConfigError);
  });
});
