// retrain-on-drift's production entry in Knative configuration (PostgreSQL, MLflow, broker sink) with the shared
// inference-log volume: the new-data policy (on by default) skips a retrain until labelled feedback arrives there.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildEvent, eventType, parseEventAs, toHttpBinary } from "../../../platform/events/index.ts";
import { FileInferenceLog } from "../../../platform/inference-log/store.ts";
import { TAG } from "../../../platform/lineage.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { startEventSink, startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { startPostgres, type TestPostgres } from "../../support/postgres.ts";
import { IRIS_SPEC } from "../../unit/retrain/fakes.ts";

let pgc: TestPostgres;
let mlflow: FakeMlflow;
let sink: EventSink;
let replica: FunctionProcess;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-newdata-"));
const logDir = path.join(tmp, "inference-log");

beforeAll(async () => {
  [pgc, mlflow, sink] = await Promise.all([startPostgres(), startFakeMlflow(), startEventSink()]);
  const client = new MlflowClient({ trackingUri: mlflow.url });
  await client.createRegisteredModel("iris");
  const exp = await client.getOrCreateExperiment("iris");
  const run = await client.createRun({ experimentId: exp.experiment_id });
  const v = await client.createModelVersion({ name: "iris", source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id });
  await client.setModelVersionTag("iris", v.version, TAG.trainingSpec, JSON.stringify(IRIS_SPEC));
  await client.setAlias("iris", "champion", v.version);
  const env = { FLYWHEEL_DATABASE_URL: await pgc.createDatabase("newdata"), K_SINK: sink.url, MLFLOW_TRACKING_URI: mlflow.url, FLYWHEEL_INFERENCE_LOG_DIR: logDir };
  replica = await startFunction("retrainOnDrift", env);
}, 120_000);

afterAll(async () => {
  await replica?.stop("SIGKILL");
  await Promise.all([sink?.close(), mlflow?.close()]);
  await pgc?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function alert(fingerprint: string): Promise<void> {
  const ev = buildEvent(
    "alert.firing",
    { status: "firing", alertname: "ModelDriftDetected", labels: { alertname: "ModelDriftDetected", model: "iris" }, startsAt: new Date().toISOString(), fingerprint },
    { source: "/flywheel/triggers/alertmanager" },
  );
  const { headers, body } = toHttpBinary(ev);
  const res = await fetch(replica.url, { method: "POST", headers, body });
  await res.arrayBuffer();
  expect(res.status).toBeLessThan(300);
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
