// The kubelet stand-in's pod runtime when a pod is deleted before its DELETED event reaches the informer: the API
// server answers the status write 404 first. The real kubelet's status manager drops such a pod; the stand-in must
// stop it the same way, not report the race as an error (it failed later tests that check `kubelet.errors`).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { KubeHttp, type Obj } from "../../support/topology/kubelet/kube-http.ts";
import { PodNetwork } from "../../support/topology/kubelet/network.ts";
import { PodRuntime } from "../../support/topology/kubelet/runtime.ts";
import { PYTHON } from "../../support/require-binary.ts";

const NS = "ml";
let kube: FakeKube;
let workDir = "";

beforeAll(async () => {
  kube = await startFakeKube({ namespace: NS });
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "kubelet-runtime-"));
});

afterAll(async () => {
  await kube.close();
  fs.rmSync(workDir, { recursive: true, force: true });
});

/** A runtime driven by hand, whose cache of pods is stale on purpose: it still holds every pod it was given. */
function runtime(): { rt: PodRuntime; errors: string[]; given: Obj[] } {
  const errors: string[] = [];
  const given: Obj[] = [];
  const rt = new PodRuntime({
    http: new KubeHttp(kube.url, kube.kubeconfig.getCurrentUser()?.token), workDir, imageDir: process.cwd(), imageWorkdir: "/app", pvcDir: (c) => path.join(workDir, c), serviceUrls: {},
    logs: kube, network: new PodNetwork(), view: { services: () => [], pods: () => given }, env: {}, killGraceMs: 500, onError: (m) => errors.push(m),
  });
  return { rt, errors, given };
}

const pod = (name: string, container: Obj): Obj =>
  kube.create({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS }, spec: { restartPolicy: "Never", containers: [{ name: "main", image: "any", ...container }] } });

async function deleteInApi(name: string): Promise<void> {
  const res = await fetch(`${kube.url}/api/v1/namespaces/${NS}/pods/${name}`, { method: "DELETE", headers: { authorization: "Bearer fake-token" } });
  expect(res.status).toBe(200);
}

const phase = (name: string): unknown => (kube.get({ apiVersion: "v1", kind: "Pod", namespace: NS, name })?.status as { phase?: string } | undefined)?.phase;

describe("kubelet PodRuntime, a pod deleted before its DELETED event", () => {
  it("whose process ends: the final status write answers 404 and nothing is reported", async () => {
    const { rt, errors, given } = runtime();
    const p = pod("ends-after-delete", { command: [PYTHON, "-c", "import time; time.sleep(1.5)"] });
    given.push(p);
    await rt.onPod("ADDED", p);
    await expect.poll(() => phase("ends-after-delete"), { timeout: 10_000 }).toBe("Running");
    await deleteInApi("ends-after-delete");
    await expect.poll(() => rt.pods().length, { timeout: 10_000 }).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toEqual([]);
  });

  it("still waiting for a Secret: its waiting status answers 404, it is stopped, and the Secret's arrival starts nothing", async () => {
    const { rt, errors, given } = runtime();
    const p = pod("waits-then-deleted", { command: [PYTHON, "-c", "print('should not run')"], env: [{ name: "T", valueFrom: { secretKeyRef: { name: "late", key: "t" } } }] });
    given.push(p);
    await rt.onPod("ADDED", p);
    const waiting = (): unknown => ((kube.get({ apiVersion: "v1", kind: "Pod", namespace: NS, name: "waits-then-deleted" })?.status as { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] } | undefined)?.containerStatuses?.[0]?.state?.waiting?.reason);
    await expect.poll(waiting, { timeout: 10_000 }).toBe("CreateContainerConfigError");
    await deleteInApi("waits-then-deleted");
    // Its next attempts (0.5 s, then 1 s apart) write the waiting status again: 404.
    await new Promise((r) => setTimeout(r, 2_000));
    kube.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "late", namespace: NS }, data: { t: Buffer.from("x").toString("base64") } });
    await new Promise((r) => setTimeout(r, 2_500));
    expect(rt.pods()).toEqual([]);
    expect(kube.objects({ apiVersion: "v1", kind: "Pod", namespace: NS }).map((o) => (o.metadata as { name?: string }).name)).not.toContain("waits-then-deleted");
    expect(errors).toEqual([]);
  });
});
