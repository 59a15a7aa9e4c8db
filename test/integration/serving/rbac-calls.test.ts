// Serving RBAC from the calls: infer and deploy-model run against the fake API server for each cluster backend; every
// Kubernetes call they make is recorded and must be granted by the rendered Role of their ServiceAccount, and every
// verb the Role grants must be used (or be one the API server checks on its own: create under server-side apply).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferDeployment, ModelInfoCache, type InferDeps, type V2Client } from "../../../functions/infer/index.ts";
import { NotFoundError } from "../../../platform/errors.ts";
import { createLogger } from "../../../platform/log.ts";
import { servingRoles, SERVING_BACKENDS, type ClusterServingBackend } from "../../../platform/manifests/rbac.ts";
import type { ApplyContext, ServingBackend } from "../../../platform/ports.ts";
import { KServeServingBackend } from "../../../platform/serving/kserve/backend.ts";
import { hasNativeCanary } from "../../../platform/serving/native-canary.ts";
import { ServingKubeClient } from "../../../platform/serving/kube.ts";
import { IMPLIED_VERBS } from "../../../platform/serving/rbac.ts";
import { SeldonServingBackend } from "../../../platform/serving/seldon/backend.ts";
import { DeploymentSpecSchema } from "../../../platform/specs/deployment.ts";
import { startFakeKube, type FakeKube, type RecordedRequest } from "../../support/fake-kube/index.ts";

const NS = "flywheel";
let kube: FakeKube;
beforeAll(async () => {
  kube = await startFakeKube({ namespace: NS });
});
afterAll(async () => kube.close());

function backendFor(b: ClusterServingBackend): ServingBackend {
  const client = new ServingKubeClient(kube.kubeconfig, NS);
  const opts = { client, log: createLogger("silent"), readyTimeoutMs: 10_000, pollMs: 20 };
  return b === "seldon" ? new SeldonServingBackend(opts) : new KServeServingBackend(opts);
}

/** A V2 server that answers: infer's Kubernetes calls are what is under test, not inference. */
const v2: V2Client = {
  metadata: async (t) => ({ name: t.model, versions: ["1"], platform: "onnx", inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }], outputs: [{ name: "label", datatype: "INT64", shape: [-1] }] }),
  infer: async (t) => ({ response: { model_name: t.model, model_version: "1", id: "x", outputs: [{ name: "label", datatype: "INT64", shape: [1], data: [0] }] }, headers: {} }),
};

const key = (r: { group: string; resource: string; verb: string }): string => `${r.group}/${r.resource}:${r.verb}`;

/** (group/resource:verb) the Role of `serviceAccount` grants for this backend. */
function granted(b: ClusterServingBackend, serviceAccount: string): Set<string> {
  const out = new Set<string>();
  for (const role of servingRoles(b).filter((r) => r.serviceAccount === serviceAccount)) {
    for (const rule of role.rules) for (const g of rule.apiGroups) for (const res of rule.resources) for (const v of rule.verbs) out.add(`${g}/${res}:${v}`);
  }
  return out;
}

/** Calls made while `fn` runs. API discovery (GET /apis/<group>/<version>) is left out: every authenticated
 * account may read it (the cluster's system:discovery role), so no Role of ours grants it. */
async function recording(fn: () => Promise<void>): Promise<RecordedRequest[]> {
  const from = kube.requests.length;
  await fn();
  return kube.requests.slice(from).filter((r) => r.resource !== "");
}

/** The serving controller's part: once the object exists, mark it Ready. */
async function becomeReady(ref: { apiVersion: string; kind: string; namespace: string; name: string }): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!kube.get(ref)) {
    if (Date.now() > deadline) throw new Error(`${ref.kind} ${ref.name} never created`);
    await new Promise((r) => setTimeout(r, 10));
  }
  kube.setStatus(ref, { url: `http://${ref.name}.flywheel.svc`, conditions: [{ type: "Ready", status: "True" }], observedGeneration: 1 });
}

const generationOf = (ref: { apiVersion: string; kind: string; namespace: string; name: string }): number => {
  const m: unknown = kube.get(ref)?.metadata;
  return typeof m === "object" && m !== null && "generation" in m ? Number(m.generation) : 0;
};

/** The controller after a spec change: Ready at the new generation (apply waits for observedGeneration). */
async function readyAfter(ref: { apiVersion: string; kind: string; namespace: string; name: string }, generation: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (generationOf(ref) <= generation) {
    if (Date.now() > deadline) throw new Error(`${ref.kind} ${ref.name} spec never changed`);
    await new Promise((r) => setTimeout(r, 10));
  }
  kube.setStatus(ref, { url: `http://${ref.name}.flywheel.svc`, conditions: [{ type: "Ready", status: "True" }], observedGeneration: generationOf(ref) });
}

const MODEL_KIND: Record<ClusterServingBackend, { apiVersion: string; kind: string }> = {
  seldon: { apiVersion: "mlops.seldon.io/v1alpha1", kind: "Model" },
  kserve: { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService" },
};

const GRAPH_KIND: Record<ClusterServingBackend, { experiment: { apiVersion: string; kind: string }; pipeline: { apiVersion: string; kind: string } }> = {
  seldon: { experiment: { apiVersion: "mlops.seldon.io/v1alpha1", kind: "Experiment" }, pipeline: { apiVersion: "mlops.seldon.io/v1alpha1", kind: "Pipeline" } },
  kserve: { experiment: { apiVersion: "serving.kserve.io/v1alpha1", kind: "InferenceGraph" }, pipeline: { apiVersion: "serving.kserve.io/v1alpha1", kind: "InferenceGraph" } },
};

describe.each(SERVING_BACKENDS)("%s: the Roles are what the functions call", (b) => {
  const ctx: ApplyContext = { revision: "r1", models: { iris: { model: "iris", version: "1", storageUri: "s3://m/iris/1", flavors: ["onnx"] } } };

  it("deploy-model (apply, status, list, undeploy): every call granted, every granted verb used", async () => {
    const backend = backendFor(b);
    const calls = await recording(async () => {
      const [status] = await Promise.all([backend.apply({ kind: "model", name: "iris", model: "iris", version: "1" }, ctx), becomeReady({ ...MODEL_KIND[b], namespace: NS, name: "iris" })]);
      expect(status.state).toBe("ready");
      await backend.get("iris");
      await backend.list();
      const iris = ctx.models.iris;
      if (!iris) throw new Error("no model");
      await Promise.all([backend.apply({ kind: "model", name: "iris-b", model: "iris", version: "1" }, { ...ctx, models: { "iris-b": iris } }), becomeReady({ ...MODEL_KIND[b], namespace: NS, name: "iris-b" })]);
      // A canary is an experiment over two models; Seldon also runs pipelines (KServe's graph covers both).
      const composites: { spec: unknown; kind: { apiVersion: string; kind: string } }[] = [
        { spec: { kind: "experiment", name: "ab", candidates: [{ name: "iris", weight: 80 }, { name: "iris-b", weight: 20 }], default: "iris", resourceType: "model" }, kind: GRAPH_KIND[b].experiment },
        ...(b === "seldon" ? [{ spec: { kind: "pipeline", name: "chain", steps: [{ name: "iris" }], output: { steps: ["iris"] } }, kind: GRAPH_KIND[b].pipeline }] : []),
      ];
      for (const c of composites) {
        const spec = DeploymentSpecSchema.parse(c.spec);
        const [st] = await Promise.all([backend.apply(spec, ctx), becomeReady({ ...c.kind, namespace: NS, name: spec.name })]);
        expect(st.state, spec.name).toBe("ready");
        await backend.remove(spec.name);
      }
      await backend.remove("iris-b");
      expect(hasNativeCanary(backend)).toBe(b === "kserve");
      if (hasNativeCanary(backend)) {
        // KServe's own canary: canaryTrafficPercent set, read back, removed (promote); pinned to 0, then removed (rollback).
        const ref = { ...MODEL_KIND[b], namespace: NS, name: "iris" };
        const spec = { kind: "model", name: "iris", model: "iris", version: "1" } as const;
        await Promise.all([backend.canary.start(spec, ctx, 20, "1"), readyAfter(ref, generationOf(ref))]);
        await backend.canary.revisions("iris");
        await Promise.all([backend.canary.promote("iris", "r2"), readyAfter(ref, generationOf(ref))]);
        // Rollback changes the spec twice (pinned at 0%, then the field removed): Ready after each.
        const rolledBack = backend.canary.rollback(spec, ctx);
        await readyAfter(ref, generationOf(ref));
        await readyAfter(ref, generationOf(ref));
        await rolledBack;
      }
    });
    const want = granted(b, "deploy-model");
    const made = new Set(calls.map(key));
    expect([...made].filter((k) => !want.has(k))).toEqual([]);
    const implied = IMPLIED_VERBS.deployModel;
    expect([...want].filter((k) => !made.has(k) && !implied.some((v) => k.endsWith(`:${v}`)))).toEqual([]);
  });

  it("infer (a known deployment, and the 404 that lists what is deployed): every call granted, every granted verb used", async () => {
    const backend = backendFor(b);
    const deps: InferDeps = { backend, client: v2, log: createLogger("silent") };
    const calls = await recording(async () => {
      const ok = await inferDeployment(deps, new ModelInfoCache(), "iris", { kind: "records", records: [{ input: 1 }], single: true }, "record").catch((e: unknown) => e);
      expect(ok).not.toBeInstanceOf(NotFoundError);
      await expect(inferDeployment(deps, new ModelInfoCache(), "nope", { kind: "records", records: [], single: false }, "record")).rejects.toThrow(/nope not found; deployed: iris/);
    });
    const want = granted(b, "infer");
    const made = new Set(calls.map(key));
    expect([...made].filter((k) => !want.has(k))).toEqual([]);
    expect([...want].filter((k) => !made.has(k))).toEqual([]);
    // The 404 path lists: the call the old get-only Role refused.
    expect(calls.some((c) => c.verb === "list")).toBe(true);
  });
});
