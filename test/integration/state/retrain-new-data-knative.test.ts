// retrain-on-drift's production entry in Knative configuration (PostgreSQL, MLflow, broker sink) with the shared
// inference-log volume: the new-data policy (on by default) skips a retrain until labelled feedback arrives there.
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildEvent, eventType, parseEventAs } from "../../../platform/events/index.ts";
import { FileInferenceLog } from "../../../platform/inference-log/store.ts";
import { startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { deliver, seedChampion, startReplicaBackdrop, type ReplicaBackdrop } from "../../support/replica-backdrop.ts";

let bd: ReplicaBackdrop;
let sink: EventSink;
let replica: FunctionProcess;
let logDir = "";

beforeAll(async () => {
  bd = await startReplicaBackdrop("newdata");
  sink = bd.sink;
  logDir = path.join(bd.tmp, "inference-log");
  await seedChampion(bd.mlflow.url, "iris");
  replica = await startFunction("retrainOnDrift", { ...bd.env, FLYWHEEL_INFERENCE_LOG_DIR: logDir });
}, 120_000);

afterAll(async () => {
  await replica?.stop("SIGKILL");
  await bd?.close();
});

async function alert(fingerprint: string): Promise<void> {
  const ev = buildEvent(
    "alert.firing",
    { status: "firing", alertname: "ModelDriftDetected", labels: { alertname: "ModelDriftDetected", model: "iris" }, startsAt: new Date().toISOString(), fingerprint },
    { source: "/flywheel/triggers/alertmanager" },
  );
  expect(await deliver(replica, ev)).toBeLessThan(300);
}
const decisions = () => sink.events.filter((e) => e.type === eventType("retrain.decided")).map((e) => parseEventAs("retrain.decided", e).data);
const requests = () => sink.events.filter((e) => e.type === eventType("training.requested")).map((e) => parseEventAs("training.requested", e).data);

it("skips a retrain with no labels since the champion (recorded reason), then retrains on a data window once labels arrive", async () => {
  await alert("no-labels");
  expect(decisions()).toEqual([expect.objectContaining({ decision: "skipped", reason: "no-new-data" })]);
  expect(decisions()[0]?.message).toMatch(/no labelled feedback for iris since champion version 1/);
  expect(requests()).toEqual([]);

  // An infer replica's feedback lands on the shared volume.
  const now = Date.now() + 1;
  new FileInferenceLog(logDir).addLabelled([
    { requestId: "r1", row: 0, time: now - 60_000, labelledAt: now, deployment: "iris", model: "iris", version: "1", features: { x: 1 }, label: "setosa", predicted: "virginica" },
  ]);
  await alert("labels-arrived");
  expect(decisions().at(-1)).toMatchObject({ decision: "started" });
  expect(requests()).toHaveLength(1);
  // The champion's spec had no window: the retrain asks for the policy's window, which launch-training resolves.
  expect(requests()[0]?.dataWindow).toEqual({ days: expect.any(Number) });
});
