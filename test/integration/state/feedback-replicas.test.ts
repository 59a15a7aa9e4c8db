// Two infer replicas (real processes, production entry) that share only what a cluster gives them: the request-id key
// (the Secret) and the inference-log volume (ReadWriteMany; here one temp dir). Sampled records arrive as KServe-logger
// CloudEvents on whichever replica the Trigger picks; feedback posted to the other replica joins, and both replicas
// export the same live accuracy, over all the labels.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CloudEvent } from "cloudevents";
import { afterAll, beforeAll, expect, it } from "vitest";
import { toHttpBinary } from "../../../platform/events/index.ts";
import { KSERVE_RESPONSE_TYPE } from "../../../platform/inference-log/events.ts";
import { requestIds } from "../../../platform/inference-log/index.ts";
import { startFakeKube, type FakeKube } from "../../support/fake-kube/index.ts";
import { startEventSink, startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { writeKubeconfig } from "../../support/knative-process.ts";

const NS = "flywheel";
const SECRET = "a-request-id-key-from-the-secret-0123456789";
const CLASSES = ["setosa", "versicolor", "virginica"];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-feedback-replicas-"));
const shared = path.join(tmp, "inference-log");
let kube: FakeKube;
let sink: EventSink;
let replicas: FunctionProcess[] = [];

beforeAll(async () => {
  [kube, sink] = await Promise.all([startFakeKube({ namespace: NS }), startEventSink()]);
  const base = {
    KUBECONFIG: writeKubeconfig(tmp, kube.kubeconfigYaml),
    FLYWHEEL_NAMESPACE: NS,
    FLYWHEEL_SERVING_BACKEND: "kserve",
    K_SINK: sink.url,
    FLYWHEEL_REQUEST_ID_SECRET: SECRET,
    FLYWHEEL_INFERENCE_LOG_DIR: shared,
  };
  // Each pod's own /tmp (data dir) differs; only the volume is shared.
  replicas = await Promise.all([0, 1].map((i) => startFunction("infer", { ...base, FLYWHEEL_DATA_DIR: path.join(tmp, `pod-${i}`) })));
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([sink?.close(), kube?.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const replica = (i: number): FunctionProcess => {
  const r = replicas[i % replicas.length];
  if (!r) throw new Error("no replica");
  return r;
};

/** A sampled record as infer's CloudEventLogSink sends it (KServe's logger convention: id = request id). */
async function deliverRecord(to: FunctionProcess, rec: { requestId: string; time: number; predicted: string }): Promise<number> {
  const ce = new CloudEvent<unknown>({
    type: KSERVE_RESPONSE_TYPE,
    source: `/apis/v1/namespaces/${NS}/services/infer`,
    id: rec.requestId,
    time: new Date(rec.time).toISOString(),
    datacontenttype: "application/json",
    data: { requestId: rec.requestId, time: rec.time, deployment: "iris", model: "iris", version: "1", rows: [{ sepal_length: 5.1 }], predictions: [rec.predicted], classes: CLASSES },
    inferenceservicename: "iris",
    namespace: NS,
    component: "predictor",
    endpoint: "default",
  });
  const { headers, body } = toHttpBinary(ce);
  const res = await fetch(to.url, { method: "POST", headers, body });
  await res.arrayBuffer();
  return res.status;
}

async function feedback(to: FunctionProcess, items: { requestId: string; label: string }[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL("feedback/iris", to.url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ feedback: items }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const accuracyOn = async (r: FunctionProcess): Promise<{ accuracy: number; samples: number }> => {
  const text = await (await fetch(new URL("metrics", r.url))).text();
  const read = (name: string): number => Number(new RegExp(`^${name}\\{[^}]*model="iris"[^}]*version="1"[^}]*\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { accuracy: read("flywheel_model_live_accuracy"), samples: read("flywheel_model_live_accuracy_samples") };
};

it("feedback posted to one replica joins records sampled through the other; both export the accuracy of all labels", async () => {
  // Ids as any replica issues them: signed with the shared key (the Secret), so every replica verifies every id.
  const ids = requestIds(SECRET);
  const now = Date.now();
  const recs = Array.from({ length: 10 }, (_, i) => ({ requestId: ids.issue("iris", now - 1000 + i), time: now - 1000 + i, predicted: "setosa" }));
  // The Trigger spreads the records over the replicas.
  for (const [i, rec] of recs.entries()) expect(await deliverRecord(replica(i), rec)).toBeLessThan(300);
  // Each label goes to the replica that did NOT write its record; 7 of 10 predictions were right.
  for (const [i, rec] of recs.entries()) {
    const out = await feedback(replica(i + 1), [{ requestId: rec.requestId, label: i < 7 ? "setosa" : "virginica" }]);
    expect(out.status).toBe(202);
    expect(out.body).toMatchObject({ matched: 1, unmatched: 0 });
  }
  // An issued id that was never sampled: accepted and counted as unmatched on either replica.
  expect((await feedback(replica(0), [{ requestId: ids.issue("iris", now), label: "setosa" }])).body).toMatchObject({ matched: 0, unmatched: 1 });
  // A forged id is a 400 naming it.
  const forged = await feedback(replica(1), [{ requestId: `${recs[0]?.requestId.slice(0, -2) ?? ""}xx`, label: "setosa" }]);
  expect(forged.status).toBe(400);
  // Each replica got half the labels, yet both report all ten: 0.7 over 10 (Prometheus' max over replicas is exact).
  for (const r of replicas) expect(await accuracyOn(r)).toEqual({ accuracy: 0.7, samples: 10 });
  // A duplicate (same label again, on the other replica) is harmless.
  const again = await feedback(replica(0), [{ requestId: recs[1]?.requestId ?? "", label: "setosa" }]);
  expect(again.body).toMatchObject({ duplicates: 1 });
  for (const r of replicas) expect(await accuracyOn(r)).toEqual({ accuracy: 0.7, samples: 10 });
}, 120_000);
