// Function health in Knative mode: each Knative Service's Ready condition, read from a fake API server through client-node
// and through kube-rest (what the Knative UI uses, with the same kubeconfig).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knativeServiceChecks } from "../../../platform/knative/health.ts";
import { kubeRest } from "../../../platform/serving/kube-rest.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";

let kube: FakeKube;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-health-"));
beforeAll(async () => {
  kube = await startFakeKube({ namespace: "flywheel" });
  fs.writeFileSync(path.join(dir, "kubeconfig"), kube.kubeconfigYaml);
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
afterAll(async () => {
  await kube.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(["client-node", "kube-rest"] as const)("through %s", (through) => {
  const rest = through === "kube-rest" ? () => kubeRest({ env: { KUBECONFIG: path.join(dir, "kubeconfig") } }) : undefined;

  it("maps each function to its Knative Service's Ready condition, in one list call", async () => {
    // Through kube-rest, client-node's KubeConfig is never built.
    const kc = rest ? () => Promise.reject(new Error("client-node was loaded")) : kube.kubeconfig;
    const checks = knativeServiceChecks(kc, "flywheel", ["log-model", "retrain-on-drift", "ui", "infer"], Date.now, rest);
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
    const gone = await startFakeKube({ namespace: "flywheel" });
    const goneKubeconfig = path.join(dir, "gone");
    fs.writeFileSync(goneKubeconfig, gone.kubeconfigYaml);
    const goneChecks = knativeServiceChecks(gone.kubeconfig, "flywheel", ["log-model"], Date.now, rest && (() => kubeRest({ env: { KUBECONFIG: goneKubeconfig } })));
    await gone.close();
    expect(await goneChecks[0]?.check()).toBe("Kubernetes API unavailable");
  });
});
