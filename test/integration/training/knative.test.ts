// launch-training as a Knative Service (FUNCTION_TARGET=launchTraining) against the fake API server and an HTTP broker.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { CloudEvent } from "cloudevents";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { buildEvent, deriveId, fromHttp, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { FileInferenceLog } from "../../../platform/inference-log/store.ts";
import { jobIdFor } from "../../../platform/training/updates.ts";
import { crdValidator, startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";

let kube: FakeKube;
let mlflow: FakeMlflow;
let broker: http.Server;
let dir: string;
const received: AnyCloudEvent[] = [];

beforeAll(async () => {
  kube = await startFakeKube({ validate: crdValidator, namespace: "ml", token: "sa-token" });
  mlflow = await startFakeMlflow();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-kn-"));
  fs.writeFileSync(path.join(dir, "kubeconfig"), kube.kubeconfigYaml);
  broker = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push(fromHttp(req.headers, Buffer.concat(chunks)));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => broker.listen(0, "127.0.0.1", () => r()));
  const addr = broker.address();
  vi.stubEnv("KUBECONFIG", path.join(dir, "kubeconfig"));
  vi.stubEnv("KUBERNETES_SERVICE_HOST", "");
  vi.stubEnv("FLYWHEEL_BROKER_URL", `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`);
  vi.stubEnv("FLYWHEEL_NAMESPACE", "ml");
  vi.stubEnv("FLYWHEEL_DATA_DIR", dir);
  vi.stubEnv("FLYWHEEL_LOG_LEVEL", "silent");
  // As the manifests mount them: the shared inference log, and window datasets on the jobs' artifacts volume.
  vi.stubEnv("FLYWHEEL_INFERENCE_LOG_DIR", path.join(dir, "inference-log"));
  vi.stubEnv("FLYWHEEL_WINDOW_DATASETS_DIR", path.join(dir, "artifacts", "datasets"));
  // Retention reads registered versions' lineage from MLflow; one unused window is kept per model.
  vi.stubEnv("MLFLOW_TRACKING_URI", mlflow.url);
  vi.stubEnv("FLYWHEEL_WINDOW_DATASETS_KEEP", "1");
  await import("../../../functions/launch-training/index.ts");
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await kube.close();
  await mlflow.close();
  await new Promise<void>((r) => broker.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

it("launches on training.requested, reports ApiServerSource status as training events, acknowledges bad events", async () => {
  const server = getTestServer("launchTraining");
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
    const post = (ce: AnyCloudEvent) => {
      const { headers, body } = toHttpBinary(ce);
      return fetch(url, { method: "POST", headers, body });
    };
    const req = buildEvent("training.requested", { model: "iris", kind: "ddp", image: "img:1", command: ["python3", "/app/train.py"], replicas: 2 }, { source: "/test", id: "kn-req-1" });
    expect((await post(req)).status).toBeLessThan(300);
    expect((await post(req)).status).toBeLessThan(300);
    const jobId = jobIdFor("iris", "kn-req-1");
    const objs = kube.objects({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" });
    expect(objs.map((o) => (o.metadata as { name: string }).name)).toEqual([jobId]);

    const updated = kube.setStatus({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", namespace: "ml", name: jobId }, { conditions: [{ type: "Running", status: "True", reason: "PyTorchJobRunning" }] });
    const source = new CloudEvent<unknown>({ id: "as-1", source: "https://10.0.0.1:443", type: "dev.knative.apiserver.resource.update", datacontenttype: "application/json", data: updated }, false);
    expect((await post(source)).status).toBeLessThan(300);
    await expect.poll(() => received.map((e) => e.id)).toEqual([deriveId(jobId, "training.started")]);
    expect(received[0]?.type).toBe("dev.flywheel.training.started");

    const bad = new CloudEvent<unknown>({ id: "bad-1", source: "/t", type: "dev.flywheel.training.requested", datacontenttype: "application/json", data: { model: "iris" } }, false);
    expect((await post(bad)).status).toBeLessThan(300);
    expect(kube.objects({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" })).toHaveLength(1);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

it("resolves a dataWindow from the shared inference log into a dataset the job's env names, with the window's row count", async () => {
  const now = Date.now();
  const row = (id: string, ageDays: number, label: string) => ({
    requestId: id, row: 0, time: now - ageDays * 86_400_000, labelledAt: now, deployment: "iris", model: "iris", version: "1",
    features: { sepal_length: 5.1, petal_width: 0.2 }, label, predicted: "setosa",
  });
  // Two rows inside the 7-day window (oldest first in the dataset), one outside it.
  new FileInferenceLog(path.join(dir, "inference-log")).addLabelled([row("r1", 1, "setosa"), row("r2", 2, "virginica"), row("old", 30, "setosa")]);
  const server = getTestServer("launchTraining");
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
    const req = buildEvent(
      "training.requested",
      { model: "iris", kind: "ddp", image: "img:1", command: ["python3", "/app/train.py"], replicas: 2, dataset: "file:///data/iris.csv", dataWindow: { days: 7 } },
      { source: "/test", id: "kn-window-1" },
    );
    for (let i = 0; i < 2; i++) {
      const { headers, body } = toHttpBinary(req);
      expect((await fetch(url, { method: "POST", headers, body })).status).toBeLessThan(300);
    }
    const jobId = jobIdFor("iris", "kn-window-1");
    const job = kube.objects({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" }).find((o) => (o.metadata as { name: string }).name === jobId);
    const specs = (job?.spec as { pytorchReplicaSpecs: Record<string, { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }> }).pytorchReplicaSpecs;
    const file = path.join(dir, "artifacts", "datasets", "iris", `${jobId}.csv`);
    for (const [role, rs] of Object.entries(specs)) {
      const env = Object.fromEntries(rs.template.spec.containers[0]!.env.map((e) => [e.name, e.value]));
      expect(env.FLYWHEEL_DATASET, role).toBe("file:///data/iris.csv");
      expect(env.FLYWHEEL_WINDOW_DATASET, role).toBe(`file://${file}`);
      expect(JSON.parse(env.FLYWHEEL_DATA_WINDOW ?? "{}"), role).toMatchObject({ model: "iris", days: 7, rows: 2 });
    }
    expect(fs.readFileSync(file, "utf8").trim().split("\n")).toEqual(["petal_width,sepal_length,label", "0.2,5.1,virginica", "0.2,5.1,setosa"]);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

it("prunes a model's old windows from the artifacts volume, keeping those a training object or a registered version still names", async () => {
  new FileInferenceLog(path.join(dir, "inference-log")).addLabelled([
    { requestId: "f1", row: 0, time: Date.now() - 86_400_000, labelledAt: Date.now(), deployment: "fraud", model: "fraud", version: "1", features: { amount: 3 }, label: "ok", predicted: "ok" },
  ]);
  const server = getTestServer("launchTraining");
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
  const windowsDir = path.join(dir, "artifacts", "datasets", "fraud");
  const launch = async (id: string): Promise<string> => {
    const req = buildEvent("training.requested", { model: "fraud", kind: "single", image: "img:1", command: ["python3", "/app/train.py"], dataWindow: { days: 7 } }, { source: "/test", id });
    const { headers, body } = toHttpBinary(req);
    expect((await fetch(url, { method: "POST", headers, body })).status).toBeLessThan(300);
    // Written an hour ago: past the grace period that protects a launch in flight on another replica.
    const hourAgo = (Date.now() - 3_600_000) / 1000;
    for (const f of fs.readdirSync(windowsDir)) fs.utimesSync(path.join(windowsDir, f), hourAgo, hourAgo);
    return jobIdFor("fraud", id);
  };
  const deleteJob = async (name: string) => {
    const res = await fetch(`${kube.url}/apis/batch/v1/namespaces/ml/jobs/${name}`, { method: "DELETE", headers: { authorization: "Bearer sa-token" } });
    expect(res.status).toBe(200);
  };
  try {
    const [gone, registered, running] = [await launch("fraud-0"), await launch("fraud-1"), await launch("fraud-2")];
    // fraud-0 and fraud-1 finished and their Jobs are gone (TTL); fraud-1's model version names its window as its data.
    await deleteJob(gone);
    await deleteJob(registered);
    const api = `${mlflow.url}/api/2.0/mlflow`;
    const post = (p: string, b: unknown) => fetch(`${api}/${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) });
    expect((await post("registered-models/create", { name: "fraud" })).status).toBe(200);
    const data = { window: { uri: `file://${path.join(windowsDir, `${registered}.csv`)}`, rows: 1 } };
    expect((await post("model-versions/create", { name: "fraud", source: "s3://models/fraud/1", tags: [{ key: "flywheel.data", value: JSON.stringify(data) }] })).status).toBe(200);
    const newest = await launch("fraud-3");
    const csvs = () => fs.readdirSync(windowsDir).filter((f) => f.endsWith(".csv")).sort();
    expect(csvs()).toEqual([registered, running, newest].map((j) => `${j}.csv`).sort());
    expect(fs.existsSync(path.join(windowsDir, `${gone}.csv.json`))).toBe(false);
    // A redelivery of the newest request: the same launch, nothing more deleted, no error.
    const { headers, body } = toHttpBinary(buildEvent("training.requested", { model: "fraud", kind: "single", image: "img:1", command: ["python3", "/app/train.py"], dataWindow: { days: 7 } }, { source: "/test", id: "fraud-3" }));
    expect((await fetch(url, { method: "POST", headers, body })).status).toBeLessThan(300);
    expect(csvs()).toHaveLength(3);
    // MLflow unreachable: nothing is pruned (a registered version might name any window).
    await deleteJob(running);
    await mlflow.setReachable(false);
    await launch("fraud-4");
    expect(csvs()).toHaveLength(4);
    await mlflow.setReachable(true);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
