// Two deploy-model replicas (real processes, production entry) on one real PostgreSQL, a fake Kubernetes API (KServe
// CRDs) and a real Prometheus: a canary started by one replica survives a scale to zero and is decided once by
// whichever replica wakes, automatically (canary-check ticks to both at once) or manually (promote on the other one).
import fs from "node:fs";
import path from "node:path";
import { CloudEvent } from "cloudevents";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { run, DEFAULT_PARAMS } from "../../../examples/iris-node/train.ts";
import { buildEvent, eventType, parseEventAs, PING_EVENT_TYPE, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { startPrometheus, type Server } from "../../e2e/drift/servers.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { isObj } from "../../support/fake-kube/patch.ts";
import { startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { writeKubeconfig } from "../../support/knative-process.ts";
import { deliver, startReplicaBackdrop, type ReplicaBackdrop } from "../../support/replica-backdrop.ts";

const NS = "flywheel";
const POLICIES = `
models:
  iris: {rollout: {strategy: canary, canaryPercent: 20, decideAfterRequests: 100, decideAfterMinutes: 0.01, maxErrorRateIncrease: 0.02, maxLatencyRatio: 2}}
`;
let bd: ReplicaBackdrop;
let tmp = "";
let sink: EventSink;
let kube: FakeKube;
let prometheus: Server;
let env: Record<string, string> = {};
let dbUrl = "";
let replicas: FunctionProcess[] = [];
let readyLoop: NodeJS.Timeout | undefined;

const KINDS = [
  { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService" },
  { apiVersion: "serving.kserve.io/v1alpha1", kind: "InferenceGraph" },
];

/** The KServe controller's part: every object Flywheel applies becomes Ready for its current generation. */
function markReady(): void {
  for (const k of KINDS) {
    for (const o of kube.objects({ ...k, namespace: NS })) {
      const m = isObj(o.metadata) ? o.metadata : {};
      const name = String(m.name);
      const gen = Number(m.generation ?? 1);
      if (isObj(o.status) && o.status.observedGeneration === gen) continue;
      kube.setStatus({ ...k, namespace: NS, name }, { url: `http://${name}.${NS}.svc`, observedGeneration: gen, conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date().toISOString() }] });
    }
  }
}

const startAll = async (): Promise<void> => {
  replicas = await Promise.all([startFunction("deployModel", env), startFunction("deployModel", env)]);
};
const stopAll = async (): Promise<void> => {
  await Promise.all(replicas.map((r) => r.stop()));
  replicas = [];
};

beforeAll(async () => {
  [bd, kube] = await Promise.all([startReplicaBackdrop("deploy"), startFakeKube({ namespace: NS })]);
  ({ tmp, sink, dbUrl } = bd);
  // No scrape target answers: every canary query is empty, so a canary past decideAfterMinutes is rolled back.
  const rules = path.join(tmp, "rules.yml");
  fs.writeFileSync(rules, "groups: []\n");
  prometheus = await startPrometheus(tmp, { target: "127.0.0.1:9", alertmanager: "127.0.0.1:9", rules, interval: "1s" });
  readyLoop = setInterval(markReady, 25);
  const client = new MlflowClient({ trackingUri: bd.mlflow.url });
  await client.createRegisteredModel("iris");
  const exp = await client.getOrCreateExperiment("iris");
  const trained = run({ ...DEFAULT_PARAMS, epochs: 20 }, path.join(tmp, "train")).outDir;
  for (let i = 0; i < 3; i++) {
    const r = await client.createRun({ experimentId: exp.experiment_id });
    await client.uploadArtifacts(r.info.artifact_uri ?? "", trained, "model");
    await client.createModelVersion({ name: "iris", source: `runs:/${r.info.run_id}/model`, runId: r.info.run_id });
  }
  const policies = path.join(tmp, "policies.yaml");
  fs.writeFileSync(policies, POLICIES);
  env = {
    ...bd.env,
    FLYWHEEL_POLICIES_FILE: policies,
    KUBECONFIG: writeKubeconfig(tmp, kube.kubeconfigYaml),
    FLYWHEEL_NAMESPACE: NS,
    FLYWHEEL_SERVING_BACKEND: "kserve",
    FLYWHEEL_PROMETHEUS_URL: prometheus.url,
    // Each replica's scratch (model downloads) is its own, as in a pod.
  };
  await startAll();
}, 180_000);

afterAll(async () => {
  if (readyLoop) clearInterval(readyLoop);
  await stopAll();
  await Promise.all([kube?.close(), prometheus?.stop()]);
  await bd?.close();
});

const promoted = (version: string, id: string): AnyCloudEvent => buildEvent("model.promoted", { model: "iris", version, cause: "gate" }, { source: "/test", id });
// The canary-check PingSource's event (a Knative type, outside the Flywheel catalogue).
const tick = (id: string): AnyCloudEvent => new CloudEvent<unknown>({ type: PING_EVENT_TYPE, source: `/apis/v1/namespaces/${NS}/pingsources/deploy-model-canary-check`, id, data: { check: "canary" } });
const ofType = (name: "deployment.promoted" | "deployment.rolled_back"): AnyCloudEvent[] => sink.events.filter((e) => e.type === eventType(name));
function served(): unknown {
  const isvc = kube.get({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: NS, name: "iris" });
  const m = isvc && isObj(isvc.metadata) ? isvc.metadata : {};
  return isObj(m.annotations) ? m.annotations["flywheel.dev/version"] : undefined;
}

async function canaryRows(): Promise<{ name: string; revision: string }[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query<{ name: string; revision: string }>("select name, revision from canaries")).rows;
  } finally {
    await c.end();
  }
}

it("a canary started on one replica survives a scale to zero; ticks to both new replicas at once decide it once", async () => {
  expect(await deliver(replicas[0], promoted("1", "p-1"))).toBeLessThan(300);
  expect(served()).toBe("1");
  expect(await deliver(replicas[0], promoted("2", "p-2"))).toBeLessThan(300);
  expect(await canaryRows()).toEqual([{ name: "iris", revision: expect.any(String) }]);
  // KServe's own canary: the InferenceService sends canaryPercent of its traffic to the new revision (no graph).
  const isvc = kube.get({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: NS, name: "iris" });
  const predictor = isvc && isObj(isvc.spec) && isObj(isvc.spec.predictor) ? isvc.spec.predictor : {};
  expect(predictor.canaryTrafficPercent).toBe(20);

  await stopAll(); // scale to zero: nothing of the canary was in either pod
  await startAll();
  // decideAfterMinutes (0.6 s) has passed and Prometheus has no canary traffic: both replicas would roll it back.
  const statuses = await Promise.all([deliver(replicas[0], tick("t-1")), deliver(replicas[1], tick("t-1b"))]);
  expect(statuses.every((s) => s < 300)).toBe(true);
  const rolled = ofType("deployment.rolled_back");
  expect(rolled).toHaveLength(1);
  expect(parseEventAs("deployment.rolled_back", rolled[0] as AnyCloudEvent).data).toMatchObject({ name: "iris", version: "1", reason: "CanaryFailed" });
  expect(await canaryRows()).toEqual([]);
  expect(served()).toBe("1");
  // A later tick on either replica finds nothing to decide.
  expect(await deliver(replicas[1], tick("t-2"))).toBeLessThan(300);
  expect(ofType("deployment.rolled_back")).toHaveLength(1);
}, 120_000);

it("a canary started on one replica is promoted by a manual request to the other", async () => {
  expect(await deliver(replicas[1], promoted("3", "p-3"))).toBeLessThan(300);
  expect((await canaryRows()).map((r) => r.name)).toEqual(["iris"]);
  const promote = buildEvent("deployment.requested", { action: "promote", name: "iris" }, { source: "/test", id: "manual-1" });
  expect(await deliver(replicas[0], promote)).toBeLessThan(300);
  const done = ofType("deployment.promoted");
  expect(done).toHaveLength(1);
  expect(parseEventAs("deployment.promoted", done[0] as AnyCloudEvent).data).toMatchObject({ name: "iris", version: "3", reason: "CanaryPassed" });
  expect(await canaryRows()).toEqual([]);
  expect(served()).toBe("3");
}, 120_000);
