// Model info for cluster deployments: V2 metadata without parameters, column names and labels from lineage tags,
// an experiment resolved through its default candidate, and one metadata call per deployment revision.
import { describe, expect, it } from "vitest";
import type { V2Client } from "../../../functions/infer/client.ts";
import { ModelInfoCache } from "../../../functions/infer/model-info.ts";
import { TAG } from "../../../platform/lineage.ts";
import { createLogger } from "../../../platform/log.ts";
import type { DeploymentStatus, ModelRegistry, ServingBackend } from "../../../platform/ports.ts";
import { DeploymentSpecSchema } from "../../../platform/specs/deployment.ts";

const status = (s: Omit<Partial<DeploymentStatus>, "spec"> & { spec: unknown }): DeploymentStatus => ({
  name: "x",
  kind: "model",
  backend: "seldon",
  revision: "r1",
  warnings: [],
  state: "ready",
  conditions: [],
  updatedAt: 1,
  ...s,
  spec: DeploymentSpecSchema.parse(s.spec),
});

const statuses: Record<string, DeploymentStatus> = {
  "iris-v3": status({ name: "iris-v3", model: "iris", version: "3", spec: { kind: "model", name: "iris-v3", model: "iris", version: "3" } }),
  ab: status({ name: "ab", kind: "experiment", spec: { kind: "experiment", name: "ab", candidates: [{ name: "iris-v3", weight: 100 }], default: "iris-v3" } }),
};
const backend: Pick<ServingBackend, "get"> = { get: async (n) => statuses[n] };
let metadataCalls = 0;
const client: V2Client = {
  metadata: async () => {
    metadataCalls++;
    return { name: "iris-v3", versions: [], platform: "triton", inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }], outputs: [{ name: "label", datatype: "INT64", shape: [-1] }] };
  },
  infer: async () => {
    throw new Error("not used");
  },
};
const registry: Pick<ModelRegistry, "getModelVersion"> = {
  getModelVersion: async (name, version) => ({
    name,
    version,
    runId: "r",
    source: "s3://x",
    status: "READY",
    aliases: [],
    creationTimestamp: 0,
    tags: { [TAG.labels]: JSON.stringify(["setosa", "versicolor", "virginica"]), [TAG.signature]: JSON.stringify({ inputs: [{ name: "a", type: "float" }, { name: "b", type: "float" }, { name: "c", type: "float" }, { name: "d", type: "float" }], outputs: [] }) },
  }),
};

describe("ModelInfoCache", () => {
  const deps = { backend: backend as ServingBackend, client, registry: registry as ModelRegistry, log: createLogger("silent") };
  it("reads columns and labels from the registry tags of the default candidate, once per revision", async () => {
    const cache = new ModelInfoCache();
    const target = { url: "http://mesh", model: "iris-v3", headers: {} };
    const info = await cache.get(deps, statuses.ab as DeploymentStatus, target);
    expect(info.columns).toEqual(["a", "b", "c", "d"]);
    expect(info.labels).toEqual(["setosa", "versicolor", "virginica"]);
    await cache.get(deps, statuses.ab as DeploymentStatus, target);
    expect(metadataCalls).toBe(1);
    await cache.get(deps, { ...(statuses.ab as DeploymentStatus), revision: "r2" }, target);
    expect(metadataCalls).toBe(2);
  });
});
