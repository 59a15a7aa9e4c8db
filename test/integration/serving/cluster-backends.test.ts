// Seldon and KServe backends: golden objects for every concept validated against the official CRDs, what KServe
// refuses, MLflow environment warnings, and apply/status/target/remove against the fake Kubernetes API server.
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import type { ApplyContext, ResolvedModel } from "../../../platform/ports.ts";
import { KServeServingBackend } from "../../../platform/serving/kserve/backend.ts";
import { ServingKubeClient } from "../../../platform/serving/kube.ts";
import { SeldonServingBackend } from "../../../platform/serving/seldon/backend.ts";
import { DeploymentSpecSchema, type DeploymentSpec } from "../../../platform/specs/deployment.ts";
import { crdErrors } from "../../support/crds.ts";
import { crdValidator, startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";

const spec = (s: unknown): DeploymentSpec => DeploymentSpecSchema.parse(s);
type Golden = { apiVersion: string; kind: string; spec: Record<string, unknown>; metadata: { annotations: Record<string, string> } };
const onnx: ResolvedModel = { model: "iris", version: "3", storageUri: "s3://models/iris/3", flavors: ["onnx", "python_function"], requirements: ["mlflow==2.9.2", "onnxruntime==1.16.3"] };
const sk: ResolvedModel = { model: "churn", version: "7", storageUri: "s3://models/churn/7", flavors: ["sklearn", "python_function"], requirements: ["scikit-learn==1.2.1", "lightgbm"] };
const torchy: ResolvedModel = { model: "torchy", version: "2", storageUri: "s3://models/torchy/2", flavors: ["python_function", "pytorch"], requirements: ["torch==1.13.1", "numpy"] };
const ctx: ApplyContext = { revision: "abc123", models: { iris: onnx, churn: sk, torchy } };
// Rendering never calls the API; an unreachable cluster proves it.
const offlineKc = new KubeConfig();
offlineKc.loadFromOptions({ clusters: [{ name: "none", server: "http://127.0.0.1:1" }], users: [{ name: "u" }], contexts: [{ name: "c", cluster: "none", user: "u" }], currentContext: "c" });
const offline = new ServingKubeClient(offlineKc, "ml");

const MODEL = spec({ kind: "model", name: "iris", model: "iris", version: "3" });
const PIPE = spec({ kind: "pipeline", name: "chain", steps: [{ name: "iris" }, { name: "churn", inputs: ["iris.outputs"] }], output: { steps: ["churn"] } });
const PIPE_MAP = spec({ kind: "pipeline", name: "mapped", steps: [{ name: "iris" }, { name: "churn", inputs: ["iris.outputs.label"], tensorMap: { "iris.outputs.label": "input" }, joinType: "outer", joinWindowMs: 500 }], output: { steps: ["churn"] } });
const EXP = spec({ kind: "experiment", name: "ab", candidates: [{ name: "iris", weight: 90 }, { name: "churn", weight: 10 }], default: "iris" });
const EXP_MIRROR = spec({ kind: "experiment", name: "shadow", candidates: [{ name: "iris", weight: 100 }], mirror: { name: "churn", percent: 50 } });

// Compiling a CRD schema (InferenceService's embeds a PodSpec) takes seconds: do it in a hook, not inside a test's time.
beforeAll(() => {
  for (const [apiVersion, kind] of [["mlops.seldon.io/v1alpha1", "Model"], ["mlops.seldon.io/v1alpha1", "Pipeline"], ["mlops.seldon.io/v1alpha1", "Experiment"], ["serving.kserve.io/v1beta1", "InferenceService"], ["serving.kserve.io/v1alpha1", "InferenceGraph"]]) {
    crdErrors({ apiVersion, kind });
  }
});

describe("Seldon golden objects", () => {
  const seldon = new SeldonServingBackend({ client: offline });
  it("renders a Model with requirements from flavors (onnx -> triton)", () => {
    const [obj] = seldon.render(MODEL, ctx);
    expect(obj).toEqual({
      apiVersion: "mlops.seldon.io/v1alpha1",
      kind: "Model",
      metadata: {
        name: "iris",
        namespace: "ml",
        labels: { "app.kubernetes.io/managed-by": "flywheel", "flywheel.dev/deployment": "iris", "flywheel.dev/kind": "model" },
        annotations: { "flywheel.dev/revision": "abc123", "flywheel.dev/spec": JSON.stringify(MODEL), "flywheel.dev/model": "iris", "flywheel.dev/version": "3" },
      },
      spec: { storageUri: "s3://models/iris/3", requirements: ["triton", "onnx"], artifactVersion: 3 },
    });
    expect(crdErrors(obj ?? {})).toEqual([]);
  });

  it.each([
    ["sklearn", sk, "churn", ["sklearn"], []],
    ["mlflow (pytorch pyfunc)", torchy, "torchy", ["mlflow"], ["torch==1.13.1"]],
  ])("renders %s with requirements and warns about what MLServer lacks", (_, resolved, name, reqs, missing) => {
    const [obj] = seldon.render(spec({ kind: "model", name, model: name, minReplicas: 0, maxReplicas: 3 }), ctx) as [Golden];
    expect(obj.spec).toMatchObject({ storageUri: resolved.storageUri, requirements: reqs, minReplicas: 0, maxReplicas: 3 });
    const warnings = JSON.parse(obj.metadata.annotations["flywheel.dev/warnings"] ?? "[]");
    if (missing.length) expect(warnings[0]).toMatch(new RegExp(`lacks ${missing.join(", ")}.*environment_tarball`));
    else expect(warnings).toEqual([]);
    expect(crdErrors(obj)).toEqual([]);
  });

  it("points parameters.environment_tarball at a packed environment and drops the warning", () => {
    const withEnv = new SeldonServingBackend({ client: offline, environmentTarball: (m) => `s3://envs/${m.model}-${m.version}.tar.gz` });
    const [obj] = withEnv.render(spec({ kind: "model", name: "torchy", model: "torchy" }), ctx) as [Golden];
    expect(obj.spec.parameters).toEqual([{ name: "environment_tarball", value: "s3://envs/torchy-2.tar.gz" }]);
    expect(obj.metadata.annotations["flywheel.dev/warnings"]).toBeUndefined();
  });

  it("renders a Pipeline with references, tensorMap and joins", () => {
    const [obj] = seldon.render(PIPE_MAP, ctx) as [Golden];
    expect(obj.spec).toEqual({
      steps: [{ name: "iris" }, { name: "churn", inputs: ["iris.outputs.label"], inputsJoinType: "outer", tensorMap: { "iris.outputs.label": "input" }, joinWindowMs: 500 }],
      output: { steps: ["churn"], stepsJoin: "inner" },
    });
    expect(crdErrors(obj)).toEqual([]);
  });

  it("renders Experiments with default and mirror", () => {
    const [a] = seldon.render(EXP, ctx) as [Golden];
    expect(a.spec).toEqual({ default: "iris", resourceType: "model", candidates: [{ name: "iris", weight: 90 }, { name: "churn", weight: 10 }] });
    const [b] = seldon.render(EXP_MIRROR, ctx) as [Golden];
    expect(b.spec).toEqual({ resourceType: "model", candidates: [{ name: "iris", weight: 100 }], mirror: { name: "churn", percent: 50 } });
    expect([...crdErrors(a), ...crdErrors(b)]).toEqual([]);
  });
});

describe("KServe golden objects", () => {
  const kserve = new KServeServingBackend({ client: offline });
  it("renders an InferenceService v1beta1 with protocol v2, modelFormat from the flavor and scale to zero", () => {
    const [obj] = kserve.render(MODEL, ctx) as [Golden];
    expect(obj.apiVersion).toBe("serving.kserve.io/v1beta1");
    expect(obj.kind).toBe("InferenceService");
    expect(obj.metadata.annotations["serving.kserve.io/deploymentMode"]).toBe("Serverless");
    expect(obj.spec).toEqual({ predictor: { minReplicas: 0, model: { modelFormat: { name: "onnx" }, protocolVersion: "v2", storageUri: "s3://models/iris/3", env: [{ name: "MLSERVER_MODEL_VERSION", value: "3" }] } } });
    expect(crdErrors(obj)).toEqual([]);
    const [m] = kserve.render(spec({ kind: "model", name: "torchy", model: "torchy" }), ctx) as [Golden];
    expect(m.spec).toMatchObject({ predictor: { model: { modelFormat: { name: "pytorch" } } } });
  });

  it("renders a pipeline as an InferenceGraph Sequence", () => {
    const [obj] = kserve.render(PIPE, ctx) as [Golden];
    expect(obj.spec).toEqual({
      nodes: {
        root: {
          routerType: "Sequence",
          steps: [
            { name: "iris", serviceName: "iris", serviceUrl: "http://iris.ml.svc.cluster.local/v2/models/iris/infer", data: "$request" },
            { name: "churn", serviceName: "churn", serviceUrl: "http://churn.ml.svc.cluster.local/v2/models/churn/infer", data: "$response" },
          ],
        },
      },
    });
    expect(crdErrors(obj)).toEqual([]);
  });

  it("renders an experiment as an InferenceGraph Splitter", () => {
    const [obj] = kserve.render(EXP, ctx) as [Golden];
    expect(obj.spec).toEqual({
      nodes: {
        root: {
          routerType: "Splitter",
          steps: [
            { name: "iris", serviceName: "iris", serviceUrl: "http://iris.ml.svc.cluster.local/v2/models/iris/infer", data: "$request", weight: 90 },
            { name: "churn", serviceName: "churn", serviceUrl: "http://churn.ml.svc.cluster.local/v2/models/churn/infer", data: "$request", weight: 10 },
          ],
        },
      },
    });
    expect(crdErrors(obj)).toEqual([]);
  });

  it.each([
    ["a renaming tensorMap", PIPE_MAP, /renaming iris.outputs.label to input is unsupported on KServe/],
    ["a mirror", EXP_MIRROR, /mirror \(shadow traffic\) is unsupported on KServe/],
    ["a join of two steps", spec({ kind: "pipeline", name: "join", steps: [{ name: "iris" }, { name: "churn" }, { name: "torchy", inputs: ["iris", "churn"] }], output: { steps: ["torchy"] } }), /takes the whole response of the step before it/],
    ["an output step that is not the last", spec({ kind: "pipeline", name: "o", steps: [{ name: "iris" }, { name: "churn", inputs: ["iris"] }], output: { steps: ["iris"] } }), /answers with its last step \(churn\) only/],
  ])("refuses %s with a clear 400", (_, s, msg) => {
    const err = (() => {
      try {
        kserve.render(s, ctx);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(String((err as Error).message)).toMatch(msg);
  });
});

describe("cluster backends against the fake Kubernetes API", () => {
  let kube: FakeKube;
  let controller: NodeJS.Timeout;
  beforeAll(async () => {
    kube = await startFakeKube({ validate: crdValidator, namespace: "ml" });
    // Stand-in for the Seldon/KServe controllers: mark every object Ready for its current generation.
    controller = setInterval(() => {
      for (const o of kube.objects({ namespace: "ml" })) {
        const md = (o.metadata ?? {}) as { name?: string; generation?: number };
        const st = (o.status ?? {}) as { observedGeneration?: number };
        const av = String(o.apiVersion);
        if (!av.includes("seldon") && !av.includes("kserve")) continue;
        if (st.observedGeneration === md.generation) continue;
        kube.setStatus(
          { apiVersion: av, kind: String(o.kind), namespace: "ml", name: md.name ?? "" },
          { observedGeneration: md.generation, conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date().toISOString() }], ...(av.includes("kserve") ? { url: `http://${md.name}.ml.example.com` } : {}) },
        );
      }
    }, 10);
  });
  afterAll(async () => {
    clearInterval(controller);
    await kube.close();
  });

  it("Seldon: server-side applies, waits for Ready, reports status, routes, and removes cleanly", async () => {
    const seldon = new SeldonServingBackend({ client: new ServingKubeClient(kube.kubeconfig, "ml"), pollMs: 10, readyTimeoutMs: 5000 });
    const st = await seldon.apply(spec({ kind: "model", name: "torchy", model: "torchy" }), ctx);
    expect(st).toMatchObject({ name: "torchy", kind: "model", backend: "seldon", model: "torchy", version: "2", revision: "abc123", state: "ready" });
    expect(st.warnings[0]).toMatch(/lacks torch==1.13.1/);
    const ssa = kube.requests.filter((r) => r.method === "PATCH" && r.resource === "models");
    expect(ssa[0]?.contentType).toBe("application/apply-patch+yaml");
    expect(ssa[0]?.query).toMatch(/fieldManager=flywheel/);
    await seldon.apply(spec({ kind: "model", name: "iris", model: "iris" }), ctx);
    await seldon.apply(PIPE.kind === "pipeline" ? spec({ ...PIPE, steps: [{ name: "iris" }, { name: "torchy", inputs: ["iris.outputs"] }], output: { steps: ["torchy"] } }) : PIPE, ctx);
    expect(await seldon.target("chain")).toEqual({ url: "http://seldon-mesh.ml.svc.cluster.local", model: "chain.pipeline", headers: { "Seldon-Model": "chain.pipeline" } });
    expect((await seldon.list()).map((d) => d.name)).toEqual(["chain", "iris", "torchy"]);
    // Idempotent: the same revision again sends nothing.
    const before = kube.requests.filter((r) => r.verb === "patch").length;
    await seldon.apply(spec({ kind: "model", name: "iris", model: "iris" }), ctx);
    expect(kube.requests.filter((r) => r.verb === "patch").length).toBe(before);
    await expect(seldon.apply(spec({ kind: "experiment", name: "bad", candidates: [{ name: "ghost", weight: 100 }] }), ctx)).rejects.toThrow(/unknown model ghost/);
    await seldon.remove("chain");
    expect(await seldon.get("chain")).toBeUndefined();
    expect(kube.objects({ apiVersion: "mlops.seldon.io/v1alpha1", kind: "Pipeline" })).toEqual([]);
    await seldon.remove("chain");
    await expect(seldon.target("chain")).rejects.toThrow(/deployed: iris, torchy/);
  });

  it("KServe: applies an InferenceService and a graph, targets the graph root, refuses a mirror before applying", async () => {
    const kserve = new KServeServingBackend({ client: new ServingKubeClient(kube.kubeconfig, "ml"), pollMs: 10, readyTimeoutMs: 5000 });
    const st = await kserve.apply(spec({ kind: "model", name: "churn", model: "churn" }), ctx);
    expect(st).toMatchObject({ name: "churn", backend: "kserve", version: "7", state: "ready", endpoint: "http://churn.ml.example.com" });
    await kserve.apply(spec({ kind: "model", name: "iris", model: "iris" }), ctx);
    await kserve.apply(EXP, ctx);
    expect(await kserve.target("ab")).toEqual({ url: "http://ab.ml.example.com", model: "ab", headers: {}, inferPath: "/", metadataUrl: "http://iris.ml.svc.cluster.local/v2/models/iris" });
    const n = kube.requests.length;
    await expect(kserve.apply(EXP_MIRROR, ctx)).rejects.toThrow(/unsupported on KServe/);
    expect(kube.requests.slice(n).some((r) => r.verb === "patch")).toBe(false);
    await kserve.remove("ab");
    expect(kube.objects({ apiVersion: "serving.kserve.io/v1alpha1", kind: "InferenceGraph" })).toEqual([]);
  });

  it("reports a deployment that never becomes Ready as failed with the condition's message", async () => {
    clearInterval(controller);
    const seldon = new SeldonServingBackend({ client: new ServingKubeClient(kube.kubeconfig, "ml"), pollMs: 10, readyTimeoutMs: 200 });
    const applied = seldon.apply(spec({ kind: "model", name: "churn", model: "churn" }), ctx);
    const ref = { apiVersion: "mlops.seldon.io/v1alpha1", kind: "Model", namespace: "ml", name: "churn" };
    while (!kube.get(ref)) await new Promise((r) => setTimeout(r, 5));
    kube.setStatus({ apiVersion: "mlops.seldon.io/v1alpha1", kind: "Model", namespace: "ml", name: "churn" }, { conditions: [{ type: "Ready", status: "False", reason: "ScheduleFailed", message: "no server satisfies requirements [sklearn]" }] });
    const st = await applied;
    expect(st).toMatchObject({ state: "failed", reason: "ScheduleFailed" });
    expect(st.message).toMatch(/not Ready after 0 s: no server satisfies/);
  });
});
