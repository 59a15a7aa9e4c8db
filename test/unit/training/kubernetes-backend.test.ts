// KubernetesTrainingBackend against the fake API server: create/409, watch-driven status, failures, logs, cancel, RBAC.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { kubeRest } from "../../../platform/serving/kube-rest.ts";
import { KubernetesTrainingBackend } from "../../../platform/training/kubernetes/backend.ts";
import { loadKubeConfig, SA_TOKEN_FILE } from "../../../platform/training/kubernetes/client.ts";
import { TRAINING_RBAC, trainingRole } from "../../../platform/training/kubernetes/rbac.ts";
import type { JobUpdate } from "../../../platform/training/updates.ts";
import { TrainingSpecSchema, type TrainingSpecInput } from "../../../platform/specs/training.ts";
import type { JobRecord } from "../../../platform/ports.ts";
import { crdValidator, startFakeKube, type FakeKube, type Validator } from "../../support/fake-kube/index.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const NS = "ml";
const allRequests: FakeKube["requests"][] = [];

// Lists and watches go through client-node, or (as the Knative UI's do) through serving/kube-rest with the same kubeconfig.
let via: "client-node" | "kube-rest" = "client-node";

async function setup(o: { ddpOperator?: "pytorchjob" | "trainjob"; validate?: Validator; watch?: boolean } = {}) {
  const kube = await startFakeKube({ validate: o.validate ?? crdValidator, namespace: NS });
  allRequests.push(kube.requests);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-k8s-"));
  const kubeconfigFile = path.join(dataDir, "kubeconfig");
  fs.writeFileSync(kubeconfigFile, kube.kubeconfigYaml);
  const rest = via === "kube-rest" ? () => kubeRest({ env: { KUBECONFIG: kubeconfigFile } }) : undefined;
  const updates: JobUpdate[] = [];
  const make = () =>
    new KubernetesTrainingBackend({
      kubeconfig: kube.kubeconfig,
      rest,
      namespace: NS,
      ddpOperator: o.ddpOperator ?? "pytorchjob",
      dataDir: fs.mkdtempSync(path.join(dataDir, "d")),
      onUpdate: (u) => void updates.push(u),
      watch: o.watch ?? true,
      trackingUri: "http://mlflow:5000",
    });
  const backend = make();
  cleanups.push(async () => {
    await backend.close();
    await kube.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const launch = (spec: TrainingSpecInput, b = backend, jobId = "iris-1234abcd") =>
    b.launch({ jobId, spec: TrainingSpecSchema.parse(spec), trigger: { reason: "schedule" }, causeEventId: "ev-1" });
  const until = async (id: string, pred: (j: JobRecord) => boolean, b = backend) => {
    await expect.poll(async () => { const j = await b.get(id); return j ? pred(j) : false; }, { timeout: 15_000, interval: 50 }).toBe(true);
    return (await b.get(id)) as JobRecord;
  };
  return { kube, backend, updates, launch, until, make };
}

const single = { model: "iris", image: "img:1", command: ["python3", "train.py"] };
const ddp = { ...single, kind: "ddp" as const, replicas: 2, procsPerReplica: 1 };

function pod(kube: FakeKube, name: string, owner: { kind: string; apiVersion: string; uid: string }, labels: Record<string, string>, container: string, status: Record<string, unknown> = {}) {
  return kube.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels, ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: "x", uid: owner.uid }] },
    spec: { containers: [{ name: container, image: "img:1" }] },
    status,
  });
}
const uidOf = (o: Record<string, unknown> | undefined): string => String((o?.metadata as { uid?: string } | undefined)?.uid ?? "");

describe.each(["client-node", "kube-rest"] as const)("KubernetesTrainingBackend (lists and watches through %s)", (through) => {
  beforeEach(() => {
    via = through;
  });

  it("creates a labelled Job and follows its status through the watch", async () => {
    const t = await setup();
    const { job, created } = await t.launch(single);
    expect(created).toBe(true);
    expect(job).toMatchObject({ state: "pending", backend: "kubernetes", ranks: 1, object: { apiVersion: "batch/v1", kind: "Job", name: "iris-1234abcd", namespace: NS }, artifactUri: "pvc://flywheel-artifacts/iris-1234abcd" });
    const objs = t.kube.objects({ apiVersion: "batch/v1", kind: "Job" });
    expect(objs).toHaveLength(1);
    expect((objs[0]?.metadata as { labels: Record<string, string> }).labels).toMatchObject({ "flywheel.dev/job-id": "iris-1234abcd", "flywheel.dev/model": "iris", "flywheel.dev/trigger": "schedule" });
    const ref = { apiVersion: "batch/v1", kind: "Job", namespace: NS, name: "iris-1234abcd" };
    t.kube.setStatus(ref, { active: 1, startTime: "2026-01-01T00:00:00Z" });
    await t.until(job.id, (j) => j.state === "running");
    t.kube.setStatus(ref, { succeeded: 1, startTime: "2026-01-01T00:00:00Z", completionTime: "2026-01-01T00:03:00Z", conditions: [{ type: "Complete", status: "True", reason: "CompletionsReached" }] });
    const done = await t.until(job.id, (j) => j.state === "succeeded");
    expect(done.finishedAt).toBe(Date.parse("2026-01-01T00:03:00Z"));
    expect(done.history.map((h) => h.state)).toEqual(["pending", "running", "succeeded"]);
    await expect.poll(() => t.updates.map((u) => u.transition.state)).toEqual(["pending", "running", "succeeded"]);
  });

  it("treats 409 AlreadyExists as 'already launched': one object, the existing job returned", async () => {
    const t = await setup({ watch: false });
    await t.launch(ddp);
    // A second instance (fresh store), as when the broker redelivers to another replica.
    const other = t.make();
    cleanups.push(() => other.close());
    const again = await t.launch(ddp, other);
    expect(again.created).toBe(false);
    expect(again.job.object?.kind).toBe("PyTorchJob");
    expect(t.kube.objects({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" })).toHaveLength(1);
    expect(t.kube.requests.filter((r) => r.verb === "create").map((r) => r.status)).toEqual([201, 409]);
    expect((await t.launch(ddp)).created).toBe(false);
  });

  it("fails a PyTorchJob with the failing replica's rank, exit code and log tail", async () => {
    const t = await setup();
    const { job } = await t.launch(ddp);
    const owner = { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", uid: uidOf(t.kube.get({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", namespace: NS, name: job.id })) };
    const labels = (type: string, index: string) => ({ "flywheel.dev/job-id": job.id, "training.kubeflow.org/replica-type": type, "training.kubeflow.org/replica-index": index });
    const term = (code: number) => ({ phase: code ? "Failed" : "Running", containerStatuses: [{ name: "pytorch", state: code ? { terminated: { exitCode: code, reason: "Error" } } : { running: {} } }] });
    pod(t.kube, `${job.id}-master-0`, owner, labels("master", "0"), "pytorch", term(0));
    pod(t.kube, `${job.id}-worker-0`, owner, labels("worker", "0"), "pytorch", term(2));
    t.kube.appendLog(NS, `${job.id}-worker-0`, Array.from({ length: 60 }, (_, i) => `step ${i}`).join("\n") + "\nRuntimeError: NCCL timeout\n");
    await t.until(job.id, (j) => j.state === "running");
    t.kube.setStatus({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", namespace: NS, name: job.id }, { conditions: [{ type: "Failed", status: "True", reason: "PyTorchJobFailed", message: "1 Worker replica(s) failed" }] });
    const failed = await t.until(job.id, (j) => j.state === "failed");
    expect(failed).toMatchObject({ failureReason: "PyTorchJobFailed", failedRank: 1, exitCode: 2, message: "1 Worker replica(s) failed" });
    await expect.poll(() => t.updates.find((u) => u.transition.state === "failed")?.logTail ?? "").toContain("RuntimeError: NCCL timeout");
    const tail = t.updates.find((u) => u.transition.state === "failed")?.logTail ?? "";
    expect(tail.split("\n")).toHaveLength(40);
  });

  it("fails on ImagePullBackOff from a pod and removes the stuck object", async () => {
    const t = await setup();
    const { job } = await t.launch(single);
    const owner = { apiVersion: "batch/v1", kind: "Job", uid: uidOf(t.kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: NS, name: job.id })) };
    pod(t.kube, `${job.id}-x1`, owner, { "flywheel.dev/job-id": job.id }, "trainer", { phase: "Pending", containerStatuses: [{ name: "trainer", state: { waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "img:1"' } } }] });
    const failed = await t.until(job.id, (j) => j.state === "failed");
    expect(failed.failureReason).toBe("ImagePullBackOff");
    expect(failed.message).toContain("Back-off pulling image");
    await expect.poll(() => t.kube.objects({ apiVersion: "batch/v1", kind: "Job" }).length).toBe(0);
  });

  it("maps SparkApplication SUBMISSION_FAILED and TrainJob completion", async () => {
    const t = await setup({ ddpOperator: "trainjob" });
    const { job: s } = await t.launch({ ...single, kind: "spark", executors: 2 }, t.backend, "sp-11111111");
    t.kube.setStatus({ apiVersion: "sparkoperator.k8s.io/v1beta2", kind: "SparkApplication", namespace: NS, name: s.id }, { driverInfo: {}, applicationState: { state: "SUBMISSION_FAILED", errorMessage: "spark-submit failed" } });
    expect(await t.until(s.id, (j) => j.state === "failed")).toMatchObject({ failureReason: "SubmissionFailed", message: "spark-submit failed" });
    const { job: d } = await t.launch(ddp, t.backend, "tj-22222222");
    expect(d.object?.kind).toBe("TrainJob");
    t.kube.setStatus({ apiVersion: "trainer.kubeflow.org/v1alpha1", kind: "TrainJob", namespace: NS, name: d.id }, { conditions: [{ type: "Complete", status: "True", reason: "JobsCompleted" }] });
    expect((await t.until(d.id, (j) => j.state === "succeeded")).history.at(-1)?.reason).toBe("JobsCompleted");
  });

  it("records a refused object as SubmissionFailed with the API server's message", async () => {
    const t = await setup({ validate: (o) => (o.kind === "Job" ? ["spec.template: admission webhook denied the request"] : []) });
    const { job, created } = await t.launch(single);
    expect(created).toBe(true);
    expect(job.state).toBe("failed");
    expect(job.failureReason).toBe("SubmissionFailed");
    expect(job.message).toContain("admission webhook denied");
  });

  it("fails a spec without an image before calling the API", async () => {
    const t = await setup({ watch: false });
    const { job } = await t.launch({ model: "iris", command: ["x"] });
    expect(job).toMatchObject({ state: "failed", failureReason: "InvalidSpec" });
    expect(t.kube.requests.filter((r) => r.verb === "create")).toHaveLength(0);
  });

  it("streams rank 0's pod log until the pod finishes, and cancels with background propagation", async () => {
    const t = await setup();
    const { job } = await t.launch(single);
    const owner = { apiVersion: "batch/v1", kind: "Job", uid: uidOf(t.kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: NS, name: job.id })) };
    const name = `${job.id}-abcde`;
    pod(t.kube, name, owner, { "flywheel.dev/job-id": job.id }, "trainer", { phase: "Running" });
    t.kube.appendLog(NS, name, "epoch 1\n");
    const lines: string[] = [];
    const reading = (async () => {
      for await (const l of t.backend.logs(job.id, { follow: true })) lines.push(l);
    })();
    await expect.poll(() => lines).toEqual(["epoch 1"]);
    t.kube.appendLog(NS, name, "epoch 2\n");
    await expect.poll(() => lines).toEqual(["epoch 1", "epoch 2"]);
    t.kube.setStatus({ apiVersion: "v1", kind: "Pod", namespace: NS, name }, { phase: "Succeeded" });
    await reading;
    const cancelled = await t.backend.cancel(job.id);
    expect(cancelled.state).toBe("cancelled");
    const del = t.kube.requests.find((r) => r.verb === "delete");
    expect(del?.query).toContain("propagationPolicy=Background");
    await expect.poll(() => t.kube.objects({ apiVersion: "v1", kind: "Pod" }).length).toBe(0);
    expect(() => t.backend.logs(job.id, { rank: 3 })).toThrow(/rank/);
  });

  it("keeps following status after the API server closes its watches", async () => {
    const t = await setup();
    const { job } = await t.launch(single);
    const ref = { apiVersion: "batch/v1", kind: "Job", namespace: NS, name: job.id };
    t.kube.setStatus(ref, { active: 1 });
    await t.until(job.id, (j) => j.state === "running");
    // "running" may come from the first list: close the watch only once it is open, or there is nothing to close.
    await expect.poll(() => t.kube.requests.some((r) => r.verb === "watch" && r.resource === "jobs")).toBe(true);
    t.kube.closeWatches();
    t.kube.setStatus(ref, { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }] });
    expect((await t.until(job.id, (j) => j.state === "failed")).failureReason).toBe("BackoffLimitExceeded");
    expect(t.kube.requests.filter((r) => r.verb === "watch" && r.resource === "jobs").length).toBeGreaterThanOrEqual(2);
  });

  it("enforces timeoutSeconds on a SparkApplication (which has no deadline field)", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const kube = await startFakeKube({ namespace: NS });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-k8s-dl-"));
    const b = new KubernetesTrainingBackend({ kubeconfig: kube.kubeconfig, namespace: NS, ddpOperator: "pytorchjob", dataDir: dir, watch: false, now: () => now });
    cleanups.push(async () => {
      await b.close();
      await kube.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const { job } = await b.launch({ jobId: "sp-1", spec: TrainingSpecSchema.parse({ ...single, kind: "spark", timeoutSeconds: 60 }), trigger: { reason: "manual" }, causeEventId: "e" });
    await b.enforceDeadlines();
    expect((await b.get(job.id))?.state).toBe("pending");
    now += 61_000;
    await b.enforceDeadlines();
    expect(await b.get(job.id)).toMatchObject({ state: "failed", failureReason: "Timeout" });
    expect(kube.objects({ apiVersion: "sparkoperator.k8s.io/v1beta2", kind: "SparkApplication" })).toHaveLength(0);
  });

  it("makes only the calls its least-privilege Role allows (and the Role has no secrets or cluster scope)", () => {
    const allowed = new Set(TRAINING_RBAC.flatMap((r) => r.verbs.map((v) => `${r.apiGroup}/${r.resource}:${v}`)));
    const made = new Set(allRequests.flat().filter((r) => r.resource).map((r) => `${r.group}/${r.resource}:${r.verb}`));
    expect(made.size).toBeGreaterThan(5);
    for (const call of made) expect(allowed, call).toContain(call);
    const role = trainingRole("ml");
    expect(role.kind).toBe("Role");
    expect(JSON.stringify(role)).not.toMatch(/secrets|\*/);
  });

  it("loads the in-cluster ServiceAccount config inside a pod, elsewhere the kubeconfig its env names", () => {
    // client-node's loadFromCluster reads the service host from process.env itself.
    vi.stubEnv("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    vi.stubEnv("KUBERNETES_SERVICE_PORT", "443");
    try {
      const kc = loadKubeConfig({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }, (f) => f === SA_TOKEN_FILE);
      expect(kc.getCurrentCluster()).toMatchObject({ name: "inCluster", server: "https://10.0.0.1:443" });
      expect(kc.getCurrentUser()?.authProvider?.config?.tokenFile).toBe(SA_TOKEN_FILE);
    } finally {
      vi.unstubAllEnvs();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-kc-"));
    const config = (name: string, server: string, context = true): string =>
      `apiVersion: v1\nkind: Config\nclusters: [{name: ${name}, cluster: {server: '${server}'}}]\nusers: [{name: u${name}, user: {token: t}}]\n` +
      (context ? `contexts: [{name: x${name}, context: {cluster: ${name}, user: u${name}}}]\ncurrent-context: x${name}\n` : "");
    fs.writeFileSync(path.join(dir, "config"), config("c", "https://example.invalid:6443"));
    fs.writeFileSync(path.join(dir, "other"), config("o", "https://other.invalid:6443"));
    fs.mkdirSync(path.join(dir, "home", ".kube"), { recursive: true });
    fs.writeFileSync(path.join(dir, "home", ".kube", "config"), config("h", "https://home.invalid:6443"));
    // The process's own KUBECONFIG and HOME say otherwise: the `env` passed in decides (client-node reads process.env).
    vi.stubEnv("KUBECONFIG", path.join(dir, "other"));
    vi.stubEnv("HOME", dir);
    try {
      expect(loadKubeConfig({ KUBECONFIG: path.join(dir, "config") }).getCurrentCluster()?.server).toBe("https://example.invalid:6443");
      expect(loadKubeConfig({ HOME: path.join(dir, "home") }).getCurrentCluster()?.server).toBe("https://home.invalid:6443");
      expect(loadKubeConfig({}, () => false).getCurrentCluster()?.server).toBe("http://localhost:8080");
      // Several files merge as client-node merges them: every cluster known, a later current-context wins.
      const merged = loadKubeConfig({ KUBECONFIG: [path.join(dir, "other"), path.join(dir, "config")].join(path.delimiter) });
      expect(merged.getCurrentCluster()?.server).toBe("https://example.invalid:6443");
      expect(merged.getClusters().map((c) => c.name)).toEqual(["o", "c"]);
    } finally {
      vi.unstubAllEnvs();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
