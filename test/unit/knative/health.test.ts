// Function health in Knative mode: each Knative Service's Ready condition, read from a fake API server through client-node.
import { afterAll, beforeAll, expect, it } from "vitest";
import { knativeServiceChecks } from "../../../platform/knative/health.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";

let kube: FakeKube;
beforeAll(async () => {
  kube = await startFakeKube({ namespace: "flywheel" });
  for (const name of ["log-model", "retrain-on-drift", "ui"]) {
    kube.create({
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      metadata: { name, namespace: "flywheel" },
      spec: { template: { spec: { containers: [{ image: "ghcr.io/flywheel-mlops/flywheel:0.1.0" }] } } },
    });
  }
  const ref = (name: string) => ({ apiVersion: "serving.knative.dev/v1", kind: "Service", namespace: "flywheel", name });
  kube.setStatus(ref("log-model"), { conditions: [{ type: "Ready", status: "True" }] });
  kube.setStatus(ref("retrain-on-drift"), {
    conditions: [{ type: "Ready", status: "False", reason: "RevisionMissing", message: "Configuration \"retrain-on-drift\" does not have any ready Revision." }],
  });
});
afterAll(() => kube.close());

it("maps each function to its Knative Service's Ready condition, in one list call", async () => {
  const checks = knativeServiceChecks(kube.kubeconfig, "flywheel", ["log-model", "retrain-on-drift", "ui", "infer"]);
  const before = kube.requests.length;
  const results = await Promise.all(checks.map(async (c) => [c.name, await c.check()]));
  expect(Object.fromEntries(results)).toEqual({
    "function log-model": true,
    "function retrain-on-drift": 'RevisionMissing: Configuration "retrain-on-drift" does not have any ready Revision.',
    "function ui": "no Ready condition yet",
    "function infer": "no Knative Service",
  });
  const calls = kube.requests.slice(before);
  expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /apis/serving.knative.dev/v1/namespaces/flywheel/services"]);
});

it("says the API is unavailable, never the raw error, when the API server is gone", async () => {
  const checks = knativeServiceChecks(kube.kubeconfig, "other-namespace-without-access", ["log-model"]);
  await kube.close();
  expect(await checks[0]?.check()).toBe("Kubernetes API unavailable");
});
