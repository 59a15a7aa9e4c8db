// The topology's process kubelet on the fake API server: Flywheel's KubernetesTrainingBackend creates the objects,
// the kubelet runs them as real processes, and status, pod logs and ApiServerSource events flow back as on a cluster.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTP, type CloudEvent } from "cloudevents";
import { writeModelDir } from "../../../examples/iris-node/artifacts.ts";
import { LABELS, loadIris } from "../../../examples/iris-node/data.ts";
import { train } from "../../../examples/iris-node/model.ts";
import { toOnnx } from "../../../examples/iris-node/onnx.ts";
import { answeredVersion } from "../../../functions/infer/version.ts";
import { KServeServingBackend } from "../../../platform/serving/kserve/backend.ts";
import { STABLE_VERSION_ANNOTATION } from "../../../platform/serving/kserve/canary.ts";
import { ServingKubeClient } from "../../../platform/serving/kube.ts";
import { SeldonServingBackend } from "../../../platform/serving/seldon/backend.ts";
import { DeploymentSpecSchema, type ModelDeployment } from "../../../platform/specs/deployment.ts";
import type { ApplyContext } from "../../../platform/ports.ts";
import { KubernetesTrainingBackend } from "../../../platform/training/kubernetes/backend.ts";
import { TrainingSpecSchema, type TrainingSpecInput } from "../../../platform/specs/training.ts";
import type { JobRecord } from "../../../platform/ports.ts";
import { trainingStatusSource } from "../../../triggers/kubernetes/source.ts";
import { kubernetesStatusTrigger } from "../../../triggers/kubernetes/status.ts";
import { createLogger } from "../../../platform/log.ts";
import type { AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { crdValidator, startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { requireBinary, requirePythonModules } from "../../support/require-binary.ts";
import { startKubelet, type Kubelet } from "../../support/topology/kubelet/index.ts";

const NS = "flywheel";
const PYTHON = "/usr/bin/python3";
let kube: FakeKube;
let kubelet: Kubelet;
let backend: KubernetesTrainingBackend;
let work: string;
let sink: http.Server;
const received: CloudEvent<unknown>[] = [];
/** What launch-training's ApiServerSource trigger made of the events (its bus), and what it answered. */
const trainingEvents: AnyCloudEvent[] = [];
const triggerFailures: string[] = [];
let statusBackend: KubernetesTrainingBackend;

beforeAll(async () => {
  requireBinary(PYTHON, "python3");
  work = fs.mkdtempSync(path.join(os.tmpdir(), "fw-kubelet-"));
  kube = await startFakeKube({ validate: crdValidator, namespace: NS });
  kube.create({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "flywheel-artifacts", namespace: NS }, spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } } });
  // The sink stands for the broker ingress: it records what the ApiServerSource emulation sends.
  sink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const ce = HTTP.toEvent({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") }) as CloudEvent<unknown>;
      received.push(ce);
      // The broker would deliver it to launch-training (Trigger training-status): run that handler's trigger on it.
      kubernetesStatusTrigger(ce, { status: statusBackend, bus: { emit: async (e) => void trainingEvents.push(e) }, log: createLogger("silent"), now: Date.now })
        .catch((e: unknown) => triggerFailures.push(e instanceof Error ? e.message : String(e)))
        .finally(() => res.writeHead(202).end());
    });
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/flywheel/default`;
  const source = trainingStatusSource({ namespace: NS, ddpOperator: "pytorchjob", serviceAccountName: "training-status-source" });
  kubelet = await startKubelet({ kube, workDir: work, sources: [{ source, sinkUrl }], podBackoffMs: 200, onServingTargets: (t) => (servingTargets = t) });
  backend = new KubernetesTrainingBackend({ kubeconfig: kube.kubeconfig, namespace: NS, ddpOperator: "pytorchjob", dataDir: fs.mkdtempSync(path.join(work, "d")), trackingUri: undefined });
  // Knative mode: launch-training's backend does not watch; the ApiServerSource events are its status source.
  statusBackend = new KubernetesTrainingBackend({ kubeconfig: kube.kubeconfig, namespace: NS, ddpOperator: "pytorchjob", dataDir: fs.mkdtempSync(path.join(work, "s")), trackingUri: undefined, watch: false });
}, 30_000);

/** The queue-proxies' metrics endpoints the kubelet last reported (what Prometheus' file_sd gets in the topology). */
let servingTargets: { address: string; labels: Record<string, string> }[] = [];
/** revision_app_request_count summed per revision over every reported queue-proxy. */
async function queueProxyCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of servingTargets) {
    const text = await (await fetch(`http://${t.address}/metrics`)).text();
    for (const m of text.matchAll(/^revision_app_request_count\{[^}]*revision_name="([^"]+)"[^}]*response_code_class="2xx"[^}]*\} (\d+)$/gm)) out[m[1] ?? ""] = (out[m[1] ?? ""] ?? 0) + Number(m[2]);
  }
  return out;
}

afterAll(async () => {
  await backend?.close();
  await statusBackend?.close();
  await kubelet?.close();
  await kube?.close();
  await new Promise((r) => sink?.close(r));
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const launch = (jobId: string, spec: TrainingSpecInput) => backend.launch({ jobId, spec: TrainingSpecSchema.parse(spec), trigger: { reason: "manual" }, causeEventId: `ev-${jobId}` });
const until = async (id: string, pred: (j: JobRecord) => boolean, timeout = 20_000): Promise<JobRecord> => {
  await expect.poll(async () => { const j = await backend.get(id); return j ? pred(j) : false; }, { timeout, interval: 50 }).toBe(true);
  const j = await backend.get(id);
  if (!j) throw new Error(`job ${id} vanished`);
  return j;
};
const logsOf = async (id: string): Promise<string> => {
  const lines: string[] = [];
  for await (const l of backend.logs(id)) lines.push(l);
  return lines.join("\n");
};
const conditions = (o: Record<string, unknown> | undefined): Record<string, unknown>[] => {
  const st = o?.status;
  return st && typeof st === "object" && "conditions" in st && Array.isArray(st.conditions) ? (st.conditions as Record<string, unknown>[]) : [];
};

describe("process kubelet: batch/v1 Jobs", () => {
  it("runs a Job's pod as a process with the template's env, args and volume; the job succeeds and its log is readable", async () => {
    const id = "kubelet-ok-0001";
    const script = "import os,sys; d=os.environ['FLYWHEEL_ARTIFACT_DIR']; os.makedirs(d, exist_ok=True); open(d+'/out.txt','w').write(sys.argv[1]); print('hello', os.environ['FLYWHEEL_JOB_ID'], sys.argv[1]); print('to stderr', file=sys.stderr)";
    await launch(id, { model: "iris", image: "flywheel:test", command: [PYTHON, "-c", script], args: ["arg-1"] });
    const job = await until(id, (j) => j.state === "succeeded");
    expect(job.failureReason).toBeUndefined();
    expect(fs.readFileSync(path.join(kubelet.pvcDir("flywheel-artifacts"), id, "out.txt"), "utf8")).toBe("arg-1");
    const log = await logsOf(id);
    expect(log).toContain(`hello ${id} arg-1`);
    expect(log).toContain("to stderr");

    const obj = kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: NS, name: id });
    expect(obj?.status).toMatchObject({ succeeded: 1, ready: 0 });
    expect(conditions(obj).map((c) => [c.type, c.status, c.reason])).toEqual([["SuccessCriteriaMet", "True", "CompletionsReached"], ["Complete", "True", "CompletionsReached"]]);
    const [pod] = kube.objects({ apiVersion: "v1", kind: "Pod", labelSelector: `job-name=${id}` });
    expect(pod?.metadata).toMatchObject({ labels: { "batch.kubernetes.io/job-name": id, "flywheel.dev/job-id": id }, ownerReferences: [{ kind: "Job", name: id, controller: true }] });
    expect(pod?.status).toMatchObject({ phase: "Succeeded", containerStatuses: [{ name: "trainer", state: { terminated: { exitCode: 0, reason: "Completed" } } }] });
    expect(kubelet.errors).toEqual([]);
  });

  it("a failing pod ends the job failed with BackoffLimitExceeded, the exit code and the log tail", async () => {
    const id = "kubelet-fail-0001";
    await launch(id, { model: "iris", image: "flywheel:test", command: [PYTHON, "-c", "import sys; print('about to fail'); sys.exit(3)"] });
    const job = await until(id, (j) => j.state === "failed");
    expect(job.failureReason).toBe("BackoffLimitExceeded");
    expect(job.message).toBe("Job has reached the specified backoff limit");
    expect(job.exitCode).toBe(3);
    expect(await logsOf(id)).toContain("about to fail");
    const obj = kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: NS, name: id });
    expect(obj?.status).toMatchObject({ failed: 1 });
    expect(conditions(obj).map((c) => [c.type, c.reason])).toEqual([["FailureTarget", "BackoffLimitExceeded"], ["Failed", "BackoffLimitExceeded"]]);
  });

  it("deleting the Job (cancel) kills the pod's process group", async () => {
    const id = "kubelet-cancel-0001";
    const marker = path.join(work, "cancel-child.pid");
    // The pod forks a grandchild: the whole group must go, not only the leader.
    const script = `import subprocess,time; p=subprocess.Popen(['sleep','300']); open('${marker}','w').write(str(p.pid)); print('started', flush=True); time.sleep(300)`;
    await launch(id, { model: "iris", image: "flywheel:test", command: [PYTHON, "-c", script] });
    await until(id, (j) => j.state === "running");
    await expect.poll(() => fs.existsSync(marker), { timeout: 10_000 }).toBe(true);
    const grandchild = Number(fs.readFileSync(marker, "utf8"));
    await backend.cancel(id);
    await expect.poll(() => alive(grandchild), { timeout: 10_000 }).toBe(false);
    expect(kubelet.pods().filter((p) => p.name.startsWith(id))).toEqual([]);
  });

  it("activeDeadlineSeconds: the pod is killed and the job fails with DeadlineExceeded", async () => {
    const id = "kubelet-deadline-0001";
    await launch(id, { model: "iris", image: "flywheel:test", command: [PYTHON, "-c", "import time; print('waiting', flush=True); time.sleep(300)"], timeoutSeconds: 2 });
    const job = await until(id, (j) => j.state === "failed");
    expect([job.failureReason, job.message]).toEqual(["DeadlineExceeded", "Job was active longer than specified deadline"]);
    await expect.poll(() => kubelet.pods().filter((p) => p.name.startsWith(id)).length, { timeout: 10_000 }).toBe(0);
  });

  it("survives watch restarts and compaction (re-watch, then re-list on 410 Expired)", async () => {
    kube.closeWatches();
    kube.compact();
    const id = "kubelet-relist-0001";
    await launch(id, { model: "iris", image: "flywheel:test", command: [PYTHON, "-c", "print('after compaction')"] });
    await until(id, (j) => j.state === "succeeded");
    expect(await logsOf(id)).toContain("after compaction");
  });

  it("maps secret, configMap and emptyDir volumes and resolves valueFrom; a missing Secret is CreateContainerConfigError", async () => {
    kube.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: NS }, data: { token: Buffer.from("s3cret").toString("base64") } });
    kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: NS }, data: { "mode.txt": "fast" } });
    // Container paths in argv and env are mapped to the volumes' host directories (paths inside program text are not).
    const script = "import os,sys; s=open(sys.argv[1]).read(); c=open(sys.argv[2]).read(); open(os.environ['SCRATCH']+'/x','w').write('1'); print('T', os.environ['TOKEN'], s, c, os.environ['POD'], os.path.exists(os.environ['SCRATCH']+'/x'))";
    const job = (name: string, secret: string) => ({
      apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: NS },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "main", image: "any", command: [PYTHON, "-c", script], args: ["/etc/creds/token", "/etc/cfg/mode.txt"],
        env: [{ name: "SCRATCH", value: "/scratch" }, { name: "TOKEN", valueFrom: { secretKeyRef: { name: secret, key: "token" } } }, { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        volumeMounts: [{ name: "creds", mountPath: "/etc/creds" }, { name: "cfg", mountPath: "/etc/cfg" }, { name: "scratch", mountPath: "/scratch" }] }],
        volumes: [{ name: "creds", secret: { secretName: "creds" } }, { name: "cfg", configMap: { name: "cfg" } }, { name: "scratch", emptyDir: {} }] } } },
    });
    kube.create(job("vols-ok", "creds"));
    await expect.poll(() => conditions(kube.get({ apiVersion: "batch/v1", kind: "Job", namespace: NS, name: "vols-ok" })).map((c) => c.type), { timeout: 20_000 }).toContain("Complete");
    const [pod] = kube.objects({ apiVersion: "v1", kind: "Pod", labelSelector: "job-name=vols-ok" });
    const podName = String((pod?.metadata as { name?: string } | undefined)?.name);
    const log = await (await fetch(`${kube.url}/api/v1/namespaces/${NS}/pods/${podName}/log`, { headers: { authorization: "Bearer fake-token" } })).text();
    expect(log.replace(/\s+/g, " ").trim()).toBe(`T s3cret s3cret fast ${podName} True`);

    kube.create(job("vols-missing", "absent"));
    await expect.poll(() => {
      const [p] = kube.objects({ apiVersion: "v1", kind: "Pod", labelSelector: "job-name=vols-missing" });
      return (p?.status as { containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[] } | undefined)?.containerStatuses?.[0]?.state?.waiting;
    }, { timeout: 20_000 }).toEqual({ reason: "CreateContainerConfigError", message: 'secret "absent" not found' });
    await fetch(`${kube.url}/apis/batch/v1/namespaces/${NS}/jobs/vols-missing?propagationPolicy=Background`, { method: "DELETE", headers: { authorization: "Bearer fake-token" } });
  });

  it("emits the ApiServerSource's CloudEvents for the watched Jobs and Pods", async () => {
    const id = "kubelet-ok-0001";
    const forJob = received.filter((e) => e.subject === `/apis/batch/v1/namespaces/${NS}/jobs/${id}`);
    expect(forJob.map((e) => e.type)).toContain("dev.knative.apiserver.resource.add");
    const last = forJob.filter((e) => e.type === "dev.knative.apiserver.resource.update").at(-1);
    expect(last).toMatchObject({ source: kube.url, kind: "Job", name: id, namespace: NS, datacontenttype: "application/json" });
    expect(conditions(last?.data as Record<string, unknown>).map((c) => c.type)).toContain("Complete");
    const podEvents = received.filter((e) => e.kind === "Pod" && String(e.name).startsWith(`${id}-`));
    expect(podEvents.length).toBeGreaterThan(0);
    expect(podEvents[0]?.subject).toMatch(new RegExp(`^/apis/v1/namespaces/${NS}/pods/${id}-`));
    expect(kubelet.events.every((e) => e.status === 202)).toBe(true);
    // launch-training turned them into the job's training events, once the status said so.
    const forOk = trainingEvents.filter((e) => (e.data as { jobId?: string } | undefined)?.jobId === id).map((e) => e.type);
    expect(forOk).toContain("dev.flywheel.training.succeeded");
    const failed = trainingEvents.find((e) => e.type === "dev.flywheel.training.failed" && (e.data as { jobId?: string } | undefined)?.jobId === "kubelet-fail-0001");
    expect(failed?.data).toMatchObject({ reason: "BackoffLimitExceeded", exitCode: 3 });
    expect(triggerFailures).toEqual([]);
    expect(kubelet.errors).toEqual([]);
  });
});

describe("process kubelet: PyTorchJob (training operator)", () => {
  it("runs Master + Worker as two python3-torch processes that rendezvous over gloo; the job succeeds", async () => {
    requirePythonModules({ torch: "python3-torch" });
    const id = "kubelet-ddp-0001";
    await launch(id, { kind: "ddp", model: "blobs", image: "flywheel:test", command: [PYTHON, "examples/torch-ddp/train.py"], params: { epochs: "3", samples: "64" }, replicas: 2, procsPerReplica: 1 });
    const job = await until(id, (j) => j.state === "succeeded", 150_000);
    expect(job.failureReason).toBeUndefined();
    const obj = kube.get({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", namespace: NS, name: id });
    expect(conditions(obj).map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Created", "True", "PyTorchJobCreated"],
      ["Running", "False", "PyTorchJobRunning"],
      ["Succeeded", "True", "PyTorchJobSucceeded"],
    ]);
    // The operator's default success policy ends the job when the Master succeeds; a Worker still active then is
    // counted as succeeded by the finished-job pass (kubeflow/common), so the count settles without the Worker's exit.
    const statusNow = (): unknown => kube.get({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", namespace: NS, name: id })?.status;
    for (let deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const st = statusNow() as { replicaStatuses?: { Worker?: { succeeded?: number } } } | undefined;
      if (st?.replicaStatuses?.Worker?.succeeded === 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(statusNow()).toMatchObject({ replicaStatuses: { Master: { succeeded: 1 }, Worker: { succeeded: 1 } } });
    const worker = kube.get({ apiVersion: "v1", kind: "Pod", namespace: NS, name: `${id}-worker-0` });
    expect(worker?.metadata).toMatchObject({ labels: { "training.kubeflow.org/replica-type": "worker", "training.kubeflow.org/replica-index": "0", "training.kubeflow.org/job-name": id } });
    const env = (worker?.spec as { containers: { env: { name: string; value?: string }[] }[] }).containers[0]?.env ?? [];
    const value = (n: string): string | undefined => env.filter((e) => e.name === n).at(-1)?.value;
    // What the operator writes into the Pod; the process sees the service name resolved and the port NATed.
    expect([value("MASTER_ADDR"), value("MASTER_PORT"), value("WORLD_SIZE"), value("RANK")]).toEqual([`${id}-master-0`, "23456", "2", "1"]);
    expect(kube.get({ apiVersion: "v1", kind: "Service", namespace: NS, name: `${id}-master-0` })?.spec).toMatchObject({ clusterIP: "None", ports: [{ port: 23456 }] });
    // Both ranks joined the same process group (each prints the all-reduce check), read through the API per rank.
    const rank1: string[] = [];
    for await (const l of backend.logs(id, { rank: 1 })) rank1.push(l);
    expect(rank1.join("\n")).toMatch(/rank 1: .*all_reduce ok/);
  }, 180_000);
});

describe("process kubelet: serving (KServe InferenceService, Seldon Model)", () => {
  const ctx = (storageUri: string, revision: string, version = "1"): ApplyContext => ({ revision, models: { iris: { model: "iris", version, storageUri, flavors: ["onnx", "python_function"] } } });
  const modelAt = (job: string, seed: number): string => {
    const model = train(loadIris(), { epochs: 30, lr: 0.1, seed, classes: LABELS.length });
    writeModelDir(path.join(kubelet.pvcDir("flywheel-artifacts"), job, "model"), toOnnx(model, { metadata: { labels: JSON.stringify(LABELS) } }), new Date());
    return `pvc://flywheel-artifacts/${job}/model`;
  };
  const infer = async (url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}/v2/models/iris/infer`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ id: "q1", inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] }] }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("an InferenceService from Flywheel's KServe backend becomes Ready and answers V2 inference at its URL (real ONNX)", async () => {
    const kserve = new KServeServingBackend({ client: new ServingKubeClient(kube.kubeconfig, NS), pollMs: 100, readyTimeoutMs: 120_000 });
    const spec = DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" });
    // Registry version 4: the runtime is told it per revision and reports it, not its own numbering ("1").
    const status = await kserve.apply(spec, ctx(modelAt("iris-train-1", 1), "r1", "4"));
    expect(status).toMatchObject({ state: "ready", backend: "kserve", revision: "r1" });
    const target = await kserve.target("iris");
    expect(target.url).toBe(kubelet.served().find((m) => m.kind === "InferenceService")?.url);
    const meta = (await (await fetch(`${target.url}/v2/models/iris`)).json()) as { inputs: { name: string }[] };
    expect(meta.inputs[0]?.name).toBe("input");
    const out = await infer(target.url);
    expect(out.status).toBe(200);
    expect(out.body).toMatchObject({ model_name: "iris", model_version: "4", id: "q1" });
    const obj = kube.get({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: NS, name: "iris" });
    expect(obj?.status).toMatchObject({ components: { predictor: { latestReadyRevision: "iris-predictor-00001", traffic: [{ revisionName: "iris-predictor-00001", percent: 100, latestRevision: true }] } }, modelStatus: { states: { activeModelState: "Loaded" } } });
  }, 150_000);

  it("a canary (canaryTrafficPercent) serves both revisions at the one URL and is promoted by removing it", async () => {
    const client = new ServingKubeClient(kube.kubeconfig, NS);
    const obj = await client.read("serving.kserve.io/v1beta1", "InferenceService", "iris");
    const predictor = (obj?.spec as { predictor: { model: Record<string, unknown> } }).predictor;
    // What a canary rollout applies: the new storageUri with canaryTrafficPercent, by hand here (the backend's own canary
    // is the next test). Registry version 5 as the candidate, version 4 the stable arm (the annotations the backend's
    // canary sets). Like the backend, it applies the whole object: server-side apply removes the labels and annotations
    // the same manager applied before and now leaves out.
    const md = (obj?.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
    const annotations = { ...md.annotations, "flywheel.dev/version": "5", [STABLE_VERSION_ANNOTATION]: "4" };
    const model = { ...predictor.model, storageUri: modelAt("iris-train-2", 2), env: [{ name: "MLSERVER_MODEL_VERSION", value: "5" }] };
    await client.apply({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", metadata: { name: "iris", namespace: NS, labels: md.labels ?? {}, annotations }, spec: { predictor: { ...predictor, canaryTrafficPercent: 30, model } } });
    await expect.poll(() => kubelet.served().find((m) => m.name === "iris")?.revisions.map((r) => [r.name, r.percent]), { timeout: 60_000, interval: 100 }).toEqual([["iris-predictor-00002", 30], ["iris-predictor-00001", 70]]);
    const url = kubelet.served().find((m) => m.name === "iris")?.url ?? "";
    const before = await queueProxyCounts();
    const answers = await Promise.all(Array.from({ length: 20 }, () => infer(url)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Each revision's queue-proxy counted what it answered, as Knative names it: 20 more in all, over both revisions.
    expect(servingTargets.map((t) => t.labels.service).sort()).toEqual(["iris-predictor-00001-private", "iris-predictor-00002-private"]);
    const after = await queueProxyCounts();
    const added = (rev: string): number => (after[rev] ?? 0) - (before[rev] ?? 0);
    expect(added("iris-predictor-00001") + added("iris-predictor-00002")).toBe(20);
    // Every answer names its arm's registry version, and infer attributes it so: as many "5"s as revision 2 answered.
    const kserve = new KServeServingBackend({ client, pollMs: 100, readyTimeoutMs: 1000 });
    const status = await kserve.get("iris");
    if (!status) throw new Error("iris has no status");
    const versions = await Promise.all(answers.map((a) => answeredVersion(status, String(a.body.model_version))));
    expect(versions.filter((v) => v === "5").length).toBe(added("iris-predictor-00002"));
    expect(versions.filter((v) => v === "4").length).toBe(added("iris-predictor-00001"));
    const st = kube.get({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: NS, name: "iris" })?.status;
    expect(st).toMatchObject({ components: { predictor: { latestRolledoutRevision: "iris-predictor-00001", traffic: [{ latestRevision: true, percent: 30 }, { tag: "prev", percent: 70 }] } } });
    // Untagged: KServe tags the latest target "latest" only with the enable-tag-routing annotation ("prev" always).
    expect((st as { components: { predictor: { traffic: { tag?: string }[] } } }).components.predictor.traffic.map((t) => t.tag)).toEqual([undefined, "prev"]);
    // KServe moves previousRolledoutRevision only when a revision takes 100%: only one has so far.
    expect(JSON.stringify(st)).not.toContain("previousRolledoutRevision");
    // Promote: remove the field with a merge patch, as the backend's promotion does.
    const res = await fetch(`${kube.url}/apis/serving.kserve.io/v1beta1/namespaces/${NS}/inferenceservices/iris`, { method: "PATCH", headers: { "content-type": "application/merge-patch+json", authorization: "Bearer fake-token" }, body: JSON.stringify({ spec: { predictor: { canaryTrafficPercent: null } } }) });
    expect(res.status).toBe(200);
    await expect.poll(() => kubelet.served().find((m) => m.name === "iris")?.revisions.map((r) => [r.name, r.percent]), { timeout: 30_000, interval: 100 }).toEqual([["iris-predictor-00002", 100]]);
    expect((await infer(url)).status).toBe(200);
  }, 120_000);

  it("a canary rolled back by Flywheel's KServe backend ends on one revision of the stable version at 100%, with no canaryTrafficPercent", async () => {
    const kserve = new KServeServingBackend({ client: new ServingKubeClient(kube.kubeconfig, NS), pollMs: 100, readyTimeoutMs: 120_000 });
    const spec: ModelDeployment = { kind: "model", name: "iris", model: "iris", version: "6" };
    expect(await kserve.canary.start(spec, ctx(modelAt("iris-train-3", 3), "r3", "6"), 30, "5")).toMatchObject({ state: "ready" });
    const served = (): (string | number)[][] | undefined => kubelet.served().find((m) => m.name === "iris")?.revisions.map((r) => [r.name, r.percent]);
    expect(served()).toEqual([["iris-predictor-00003", 30], ["iris-predictor-00002", 70]]);
    const stable: ModelDeployment = { kind: "model", name: "iris", model: "iris", version: "5" };
    expect(await kserve.canary.rollback(stable, ctx("pvc://flywheel-artifacts/iris-train-2/model", "r4", "5"))).toMatchObject({ state: "ready", version: "5" });
    await expect.poll(served, { timeout: 30_000, interval: 100 }).toEqual([["iris-predictor-00004", 100]]);
    const obj = kube.get({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", namespace: NS, name: "iris" });
    expect((obj?.spec as { predictor: Record<string, unknown> }).predictor.canaryTrafficPercent).toBeUndefined();
    expect(obj?.status).toMatchObject({ components: { predictor: { latestRolledoutRevision: "iris-predictor-00004", previousRolledoutRevision: "iris-predictor-00002" } } });
    expect((await infer(kubelet.served().find((m) => m.name === "iris")?.url ?? "")).body).toMatchObject({ model_version: "5" });
    expect(kubelet.errors).toEqual([]);
  }, 150_000);

  it("a Seldon Model becomes Ready and answers through seldon-mesh with the Seldon-Model header", async () => {
    const seldon = new SeldonServingBackend({ client: new ServingKubeClient(kube.kubeconfig, NS), meshUrl: kubelet.seldonMeshUrl, pollMs: 100, readyTimeoutMs: 60_000 });
    const spec = DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" });
    expect(await seldon.apply(spec, ctx("pvc://flywheel-artifacts/iris-train-1/model", "s1"))).toMatchObject({ state: "ready", backend: "seldon" });
    const target = await seldon.target("iris");
    expect(target.headers).toEqual({ "Seldon-Model": "iris" });
    const out = await infer(target.url, target.headers);
    expect(out).toMatchObject({ status: 200, body: { model_name: "iris" } });
    expect((await infer(target.url, { "Seldon-Model": "nope" })).status).toBe(503);
    expect(kubelet.errors).toEqual([]);
  }, 90_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
