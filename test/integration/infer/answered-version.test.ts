// Which registry version infer attributes an answer to: never the runtime's own model_version numbering ("1" from
// Triton/MLServer), the deployment record outside a canary, and during a KServe canary only a version one of the two
// arms serves. The canary state is read by the real KServe backend from an InferenceService in the fake API server
// (every write validated against the KServe CRD), with status.components.predictor as KServe reports it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answeredVersion, attributeVersion } from "../../../functions/infer/version.ts";
import { hasNativeCanary } from "../../../platform/serving/native-canary.ts";
import type { ApplyContext, ResolvedModel } from "../../../platform/ports.ts";
import { KServeServingBackend } from "../../../platform/serving/kserve/backend.ts";
import { STABLE_VERSION_ANNOTATION } from "../../../platform/serving/kserve/canary.ts";
import { ServingKubeClient } from "../../../platform/serving/kube.ts";
import { SeldonServingBackend } from "../../../platform/serving/seldon/backend.ts";
import { ModelDeploymentSchema } from "../../../platform/specs/deployment.ts";
import { crdValidator, startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";

const ISVC = { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: "ml", name: "iris" };
const resolved = (version: string): ResolvedModel => ({ model: "iris", version, storageUri: `s3://models/iris/${version}`, flavors: ["onnx"], requirements: [] });
const model = ModelDeploymentSchema.parse({ kind: "model", name: "iris", model: "iris" });
const ctx = (version: string): ApplyContext => ({ revision: `r${version}`, models: { iris: resolved(version) } });

describe("attributeVersion (the rule)", () => {
  it("outside a canary the deployment record decides, whatever the runtime numbers its model", () => {
    expect(attributeVersion("1", "2", undefined)).toBe("2");
    expect(attributeVersion(undefined, "2", undefined)).toBe("2");
    expect(attributeVersion("2", "2", undefined)).toBe("2");
  });
  it("during a canary only an arm's version is believed; anything else is an unknown arm, not a guess", () => {
    expect(attributeVersion("1", "2", ["1", "2"])).toBe("1");
    expect(attributeVersion("2", "2", ["1", "2"])).toBe("2");
    expect(attributeVersion("7", "3", ["2", "3"])).toBeUndefined();
    expect(attributeVersion(undefined, "3", ["2", "3"])).toBeUndefined();
  });
});

describe("answeredVersion through the KServe backend and the fake API server", () => {
  let kube: FakeKube;
  let backend: KServeServingBackend;
  beforeAll(async () => {
    kube = await startFakeKube({ validate: crdValidator, namespace: "ml" });
    backend = new KServeServingBackend({ client: new ServingKubeClient(kube.kubeconfig, "ml"), pollMs: 10, readyTimeoutMs: 2000 });
  });
  afterAll(async () => kube.close());

  const predictor = (created: string, rolled: string): void => {
    kube.setStatus(ISVC, {
      observedGeneration: Number(Object(kube.get(ISVC)?.metadata).generation ?? 1),
      conditions: [{ type: "Ready", status: "True" }],
      components: { predictor: { latestCreatedRevision: created, latestReadyRevision: created, latestRolledoutRevision: rolled } },
    });
  };

  it("after v2 is rolled out, a runtime answering model_version 1 is attributed to v2", async () => {
    const client = new ServingKubeClient(kube.kubeconfig, "ml");
    for (const o of backend.render(model, ctx("2"))) await client.apply(o);
    predictor("iris-predictor-00002", "iris-predictor-00002");
    const status = await backend.get("iris");
    expect(status?.version).toBe("2");
    if (!status) return;
    expect(answeredVersion(status, "1")).toBe("2");
    expect(answeredVersion(status, undefined)).toBe("2");
  });

  it("during a canary (v2 stable, v3 at 10%) an answer naming neither arm is unknown, an arm's version is kept", async () => {
    const client = new ServingKubeClient(kube.kubeconfig, "ml");
    for (const o of backend.render(model, ctx("3"))) {
      const meta = Object(o.metadata) as { annotations?: Record<string, string> };
      await client.apply({ ...o, metadata: { ...meta, annotations: { ...meta.annotations, [STABLE_VERSION_ANNOTATION]: "2" } }, spec: { predictor: { ...Object(Object(o.spec).predictor), canaryTrafficPercent: 10 } } });
    }
    predictor("iris-predictor-00003", "iris-predictor-00002");
    const status = await backend.get("iris");
    expect(status?.version).toBe("3");
    if (!status) return;
    expect(answeredVersion(status, "1")).toBeUndefined();
    expect(answeredVersion(status, "2")).toBe("2");
    expect(answeredVersion(status, "3")).toBe("3");
  });

  it("a backend without native canaries (Seldon) takes the record's version", async () => {
    const seldon = new SeldonServingBackend({ client: new ServingKubeClient(kube.kubeconfig, "ml"), pollMs: 10, readyTimeoutMs: 200 });
    const status = await backend.get("iris");
    if (!status) throw new Error("no status");
    // Seldon runs no canary itself, so its statuses never carry canary arms: the record's version decides.
    expect(hasNativeCanary(seldon)).toBe(false);
    const { canaryVersions: _arms, ...record } = status;
    expect(answeredVersion({ ...record, backend: "seldon" }, "1")).toBe("3");
  });
});
