// The build's warm-up runs each function's first request against stand-in backends (an empty PostgreSQL on the wire
// protocol, an empty MLflow, an API server with one InferenceService and the V2 server it points at), so the code cache
// holds that request's code: ui and infer used to stop at their config check (no database, registry or broker
// configured) and cache none of it, then infer stopped at "deployment not found" before its V2 call.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { bundle } from "../../../platform/build/bundle.ts";
import { startWarmUpBackends } from "../../../platform/build/warm-up-backends.ts";
import { TARGETS } from "../../../platform/knative/targets.ts";
import { decodeOutputs } from "../../../functions/infer/decode.ts";
import { httpV2Client } from "../../../functions/infer/client.ts";
import { createLogger } from "../../../platform/log.ts";
import { clusterServingBackend } from "../../../platform/serving/cluster.ts";
import { restReader } from "../../../platform/serving/kube-rest.ts";
import { InferRequestSchema } from "../../../platform/serving/v2/types.ts";
import { openPostgresState } from "../../../platform/state/index.ts";
import { MIGRATIONS } from "../../../platform/state/migrations.ts";
import { crdErrors } from "../../support/crds.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-warm-up-test-"));
// The image's layout: the bundles' native externals resolve from node_modules beside them.
fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(tmp, "node_modules"));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the warm-up's stand-in backends", () => {
  it("look to the real clients like an empty PostgreSQL with a current schema and an API server with no other objects", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "backends-"));
    const backends = await startWarmUpBackends(dir);
    try {
      // pg and kysely over the wire protocol: the start's one schema read finds every migration, nothing is applied.
      const state = await openPostgresState(backends.env.FLYWHEEL_DATABASE_URL ?? "");
      expect(state.migrated.applied).toEqual([]);
      expect((await state.db.selectFrom("flywheel_schema").select("version").execute()).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await state.db.selectFrom("event_log").selectAll().where("key", "=", "k").execute()).toEqual([]);
      await state.db.destroy();

      // client-node (the training watch's lists) and kube-rest (serving's reads) both take the kubeconfig: a list is
      // empty, an object is NotFound, as is a group the cluster does not serve (InferenceServices: the next test).
      const kc = new KubeConfig();
      kc.loadFromFile(backends.env.KUBECONFIG ?? "");
      const core = kc.makeApiClient(CoreV1Api);
      expect((await core.listNamespacedPod({ namespace: "flywheel", labelSelector: "app=x" })).items).toEqual([]);
      await expect(core.readNamespacedPod({ namespace: "flywheel", name: "p" })).rejects.toMatchObject({ code: 404 });
      const reader = await restReader({ env: { KUBECONFIG: backends.env.KUBECONFIG } });
      if (!reader) throw new Error("kube-rest refused the warm-up's kubeconfig (it would fall back to client-node)");
      await expect(reader.read("serving.kserve.io/v1beta1", "InferenceService", "flywheel", "other")).rejects.toMatchObject({ code: 404 });
      await expect(reader.read("serving.kserve.io/v1alpha1", "InferenceGraph", "flywheel", "iris")).rejects.toMatchObject({ code: 404 });
      const mlflow = await fetch(`${backends.env.MLFLOW_TRACKING_URI}/api/2.0/mlflow/experiments/search`, { method: "POST", body: "{}" });
      expect([mlflow.status, await mlflow.json()]).toEqual([200, {}]);
      expect((await fetch(backends.env.FLYWHEEL_BROKER_URL ?? "", { method: "POST", body: "{}" })).status).toBe(202);
    } finally {
      await backends.close();
    }
  });

  it("hold one Ready InferenceService, valid by KServe's CRD, whose V2 server answers infer's calls", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "backends-"));
    const backends = await startWarmUpBackends(dir);
    try {
      const env = { KUBECONFIG: backends.env.KUBECONFIG };
      const reader = await restReader({ env });
      if (!reader) throw new Error("kube-rest refused the warm-up's kubeconfig");
      // As the API server stores them (the raw JSON, read and listed), and as the KServe backend reads them.
      const one = await reader.read("serving.kserve.io/v1beta1", "InferenceService", "flywheel", "iris");
      const { items } = await reader.list("serving.kserve.io/v1beta1", "InferenceService", "flywheel", "app.kubernetes.io/managed-by=flywheel");
      const raw: unknown = await (await fetch(`${kc(backends.env.KUBECONFIG)}/apis/serving.kserve.io/v1beta1/namespaces/flywheel/inferenceservices/iris`)).json();
      expect(items).toHaveLength(1);
      for (const obj of [raw, ...items]) expect(crdErrors({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", ...(obj as object) })).toEqual([]);
      expect(one.metadata).toMatchObject({ name: "iris", namespace: "flywheel" });

      const backend = await clusterServingBackend("kserve", "flywheel", createLogger("silent"), env);
      const status = await backend.get("iris");
      expect(status).toMatchObject({ name: "iris", state: "ready", model: "iris", version: "1", backend: "kserve" });
      expect((await backend.list()).map((d) => d.name)).toEqual(["iris"]);
      const target = await backend.target("iris");
      expect(target.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      // The V2 calls infer makes, through its own client: metadata with columns and labels, then an inference.
      const client = httpV2Client();
      const meta = await client.metadata(target);
      expect(meta.parameters).toMatchObject({ labels: ["setosa", "versicolor", "virginica"] });
      const request = InferRequestSchema.parse({ inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.2, 2.9, 4.3, 1.3] }] });
      const { response } = await client.infer(target, request);
      expect(decodeOutputs(response, ["setosa", "versicolor", "virginica"]).map((p) => p.label)).toEqual(["setosa", "setosa"]);
      // A request that is not V2 is a V2 error (400), not an answer.
      await expect(client.infer(target, { inputs: [] })).rejects.toMatchObject({ name: "ValidationError" });
    } finally {
      await backends.close();
    }
  });
});

/** The API server's URL in a kubeconfig the warm-up wrote (JSON). */
function kc(file: string | undefined): string {
  const config = JSON.parse(fs.readFileSync(file ?? "", "utf8")) as { clusters: { cluster: { server: string } }[] };
  return config.clusters[0]?.cluster.server ?? "";
}

describe("the build's warm-up", () => {
  it("serves ui's and infer's first requests past their config checks, on the stand-ins", async () => {
    const entries = (["ui", "infer"] as const).map((t) => ({ target: t, name: TARGETS[t].service, module: path.join(ROOT, TARGETS[t].module) }));
    const [ui, infer] = await bundle(entries, tmp);
    // ui: the signed-in home page, rendered from the (empty) registry and state store; before: 500, a ConfigError.
    expect(ui?.warmUpStatuses?.[0]).toBe(200);
    // infer: a V2 request resolved in the cluster and sent to the InferenceService's V2 server; before: 404 (no
    // deployment), and before that 500 (a ConfigError).
    expect(infer?.warmUpStatuses?.[0]).toBe(200);
  }, 120_000);
});
