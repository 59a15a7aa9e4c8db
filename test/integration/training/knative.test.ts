// launch-training as a Knative Service (FUNCTION_TARGET=launchTraining) against the fake API server and an HTTP broker.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { CloudEvent } from "cloudevents";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { buildEvent, deriveId, fromHttp, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { jobIdFor } from "../../../platform/training/updates.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";

let kube: FakeKube;
let broker: http.Server;
let dir: string;
const received: AnyCloudEvent[] = [];

beforeAll(async () => {
  kube = await startFakeKube({ namespace: "ml", token: "sa-token" });
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
  await import("../../../functions/launch-training/index.ts");
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await kube.close();
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
