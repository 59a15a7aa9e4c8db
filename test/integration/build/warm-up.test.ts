// The build's warm-up runs each function's first request against stand-in backends (an empty PostgreSQL on the wire
// protocol, an empty MLflow, an API server with no objects), so the code cache holds that request's code: ui and infer
// used to stop at their config check (no database, registry or broker configured) and cache none of it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { bundle } from "../../../platform/build/bundle.ts";
import { startWarmUpBackends } from "../../../platform/build/warm-up-backends.ts";
import { TARGETS } from "../../../platform/knative/targets.ts";
import { restReader } from "../../../platform/serving/kube-rest.ts";
import { openPostgresState } from "../../../platform/state/index.ts";
import { MIGRATIONS } from "../../../platform/state/migrations.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-warm-up-test-"));
// The image's layout: the bundles' native externals resolve from node_modules beside them.
fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(tmp, "node_modules"));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the warm-up's stand-in backends", () => {
  it("look to the real clients like an empty PostgreSQL with a current schema and an API server with no objects", async () => {
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
      // empty, an object is NotFound, as is a group the cluster does not serve.
      const kc = new KubeConfig();
      kc.loadFromFile(backends.env.KUBECONFIG ?? "");
      const core = kc.makeApiClient(CoreV1Api);
      expect((await core.listNamespacedPod({ namespace: "flywheel", labelSelector: "app=x" })).items).toEqual([]);
      await expect(core.readNamespacedPod({ namespace: "flywheel", name: "p" })).rejects.toMatchObject({ code: 404 });
      const reader = await restReader({ env: { KUBECONFIG: backends.env.KUBECONFIG } });
      if (!reader) throw new Error("kube-rest refused the warm-up's kubeconfig (it would fall back to client-node)");
      await expect(reader.read("serving.kserve.io/v1beta1", "InferenceService", "flywheel", "iris")).rejects.toMatchObject({ code: 404 });
      const mlflow = await fetch(`${backends.env.MLFLOW_TRACKING_URI}/api/2.0/mlflow/experiments/search`, { method: "POST", body: "{}" });
      expect([mlflow.status, await mlflow.json()]).toEqual([200, {}]);
      expect((await fetch(backends.env.FLYWHEEL_BROKER_URL ?? "", { method: "POST", body: "{}" })).status).toBe(202);
    } finally {
      await backends.close();
    }
  });
});

describe("the build's warm-up", () => {
  it("serves ui's and infer's first requests past their config checks, on the stand-ins", async () => {
    const entries = (["ui", "infer"] as const).map((t) => ({ target: t, name: TARGETS[t].service, module: path.join(ROOT, TARGETS[t].module) }));
    const [ui, infer] = await bundle(entries, tmp);
    // ui: the signed-in home page, rendered from the (empty) registry and state store; before: 500, a ConfigError.
    expect(ui?.warmUpStatuses?.[0]).toBe(200);
    // infer: a V2 request resolved in the (empty) cluster: 404 for the deployment; before: 500, a ConfigError.
    expect(infer?.warmUpStatuses?.[0]).toBe(404);
  }, 120_000);
});
