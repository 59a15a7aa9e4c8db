// What the Knative replica tests share: one real PostgreSQL database, the fake MLflow, a Broker-ingress sink, a temp dir.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { toHttpBinary, type AnyCloudEvent } from "../../platform/events/index.ts";
import { TAG } from "../../platform/lineage.ts";
import { MlflowClient } from "../../platform/mlflow/index.ts";
import { IRIS_SPEC } from "../unit/retrain/fakes.ts";
import { startFakeMlflow, type FakeMlflow } from "./fake-mlflow/index.ts";
import { startEventSink, type EventSink } from "./function-process.ts";
import { startPostgres, type TestPostgres } from "./postgres.ts";

export interface ReplicaBackdrop {
  readonly pg: TestPostgres;
  readonly mlflow: FakeMlflow;
  readonly sink: EventSink;
  /** A fresh database of its own on the shared server. */
  readonly dbUrl: string;
  readonly tmp: string;
  /** What every replica is given: the StateStore, the Broker (K_SINK) and the registry. */
  readonly env: Readonly<Record<string, string>>;
  /** Stops what it started and removes the temp dir (the replicas are the caller's to stop first). */
  close(): Promise<void>;
}

/** `name` names the database and the temp dir. */
export async function startReplicaBackdrop(name: string): Promise<ReplicaBackdrop> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `flywheel-${name}-`));
  const [pg, mlflow, sink] = await Promise.all([startPostgres(), startFakeMlflow(), startEventSink()]);
  const dbUrl = await pg.createDatabase(name.replace(/[^a-z0-9]/g, ""));
  return {
    pg,
    mlflow,
    sink,
    dbUrl,
    tmp,
    env: { FLYWHEEL_DATABASE_URL: dbUrl, K_SINK: sink.url, MLFLOW_TRACKING_URI: mlflow.url },
    async close() {
      await Promise.all([sink.close(), mlflow.close()]);
      await pg.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** A registered model with one version, aliased champion, tagged with the training spec a retrain re-uses. */
export async function seedChampion(mlflowUrl: string, model: string, spec: object = IRIS_SPEC): Promise<void> {
  const client = new MlflowClient({ trackingUri: mlflowUrl });
  await client.createRegisteredModel(model);
  const exp = await client.getOrCreateExperiment(model);
  const run = await client.createRun({ experimentId: exp.experiment_id });
  const v = await client.createModelVersion({ name: model, source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id });
  await client.setModelVersionTag(model, v.version, TAG.trainingSpec, JSON.stringify(spec));
  await client.setAlias(model, "champion", v.version);
}

/** POST an event in binary mode, as the Broker's dispatcher does; the response's status (its body is drained). */
export async function deliver(to: { readonly url: string } | undefined, ev: AnyCloudEvent): Promise<number> {
  if (!to) throw new Error("no replica to deliver to");
  const { headers, body } = toHttpBinary(ev);
  const res = await fetch(to.url, { method: "POST", headers, body });
  await res.arrayBuffer();
  return res.status;
}
