// The ApiServerSource manifest for Knative mode is valid against its CRD and watches what the embedded watch does.
import { describe, expect, it } from "vitest";
import { trainingStatusSource } from "../../../triggers/kubernetes/source.ts";
import { crdErrors } from "../../support/crds.ts";

describe("trainingStatusSource", () => {
  it.each(["pytorchjob", "trainjob"] as const)("is a valid ApiServerSource for %s", (ddpOperator) => {
    const src = trainingStatusSource({ namespace: "ml", ddpOperator });
    expect(crdErrors(src)).toEqual([]);
    const kinds = (src.spec as { resources: { kind: string }[] }).resources.map((r) => r.kind);
    expect(kinds).toEqual(["Job", ddpOperator === "trainjob" ? "TrainJob" : "PyTorchJob", "SparkApplication", "Pod"]);
    expect(src.spec).toMatchObject({ mode: "Resource", serviceAccountName: "flywheel-training", sink: { ref: { kind: "Service", name: "launch-training" } } });
  });
});
