// localDir: where log-model reads a training's outputs; a Kubernetes job's pvc://flywheel-artifacts/<job> is read at
// the pod's mount of that claim (Knative), and nothing outside it.
import { describe, expect, it } from "vitest";
import { localDir } from "../../../functions/log-model/outputs.ts";

describe("log-model localDir", () => {
  it("maps the artifacts PVC to its mount, file: and absolute paths to themselves", () => {
    expect(localDir("pvc://flywheel-artifacts/iris-1234", "/var/lib/flywheel/artifacts")).toBe("/var/lib/flywheel/artifacts/iris-1234");
    expect(localDir("file:///data/job", "/mnt")).toBe("/data/job");
    expect(localDir("/data/job")).toBe("/data/job");
  });

  it("leaves remote URIs, an unmounted PVC, another claim and a path that climbs out unresolved", () => {
    expect(localDir("s3://bucket/job", "/mnt")).toBeUndefined();
    expect(localDir("pvc://flywheel-artifacts/iris-1234")).toBeUndefined();
    expect(localDir("pvc://other-claim/iris-1234", "/mnt")).toBeUndefined();
    expect(localDir("pvc://flywheel-artifacts/../../etc", "/mnt")).toBeUndefined();
  });
});
