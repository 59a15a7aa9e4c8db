// log-model's registry steps: experiment and run, params/metrics, artifact upload, registered model, lineage-tagged version.
import fs from "node:fs";
import { TAG } from "../../platform/lineage.ts";
import type { FlywheelEvent } from "../../platform/events/index.ts";
import { isAlreadyExists, isConnectionError, isNotFound, proxyPathOf, quote, ident, ARTIFACT_SCHEME, type ModelVersion, type Run } from "../../platform/mlflow/index.ts";
import type { LogModelDeps } from "./deps.ts";
import type { TrainingOutputs } from "./outputs.ts";
import { trimTrailingSlashes } from "../../platform/slashes.ts";
import { datasetInput } from "./dataset.ts";

export interface Registered {
  readonly version: ModelVersion;
  /** The version's run; absent only for a version someone else registered without one. */
  readonly run: Run | undefined;
  readonly experimentId: string;
  readonly created: boolean;
}

type Succeeded = FlywheelEvent<"training.succeeded">;

/** Versions of `model` carrying this event id, lowest first. */
export async function versionsForEvent(deps: LogModelDeps, model: string, eventId: string): Promise<ModelVersion[]> {
  const page = await deps.mlflow.searchModelVersions({ filter: `name = ${quote(model)} AND tags.${ident(TAG.eventId)} = ${quote(eventId)}` });
  return [...page.items].sort((a, b) => Number(a.version) - Number(b.version));
}

async function findOrCreateRun(deps: LogModelDeps, ev: Succeeded, out: TrainingOutputs | undefined): Promise<{ run: Run; experimentId: string; ours: boolean }> {
  const d = ev.data;
  const givenRun = d.runId ?? out?.run?.runId;
  if (givenRun) {
    const run = await deps.mlflow.getRun(givenRun);
    return { run, experimentId: run.info.experiment_id, ours: false };
  }
  const experimentId = d.experimentId ?? out?.run?.experimentId ?? (await deps.mlflow.getOrCreateExperiment(d.spec.experiment ?? d.model)).experiment_id;
  // The run is found by the event-id tag before one is created: a replay of the event, or a runs/create whose answer was
  // lost to a connection reset (the server may have created the run), must not leave two runs.
  for (let attempt = 1; ; attempt++) {
    const prior = await deps.mlflow.searchRuns({ experimentIds: [experimentId], filter: `tags.${ident(TAG.eventId)} = ${quote(ev.id)}`, maxResults: 1 });
    const found = prior.items[0];
    if (found) return { run: found, experimentId, ours: true };
    try {
      const run = await deps.mlflow.createRun({
        experimentId,
        runName: d.jobId,
        startTime: d.startedAt,
        tags: { [TAG.eventId]: ev.id, [TAG.jobId]: d.jobId, "mlflow.source.type": "JOB", "mlflow.source.name": d.jobId },
      });
      return { run, experimentId, ours: true };
    } catch (e) {
      if (!isConnectionError(e) || attempt >= CREATE_RUN_ATTEMPTS) throw e;
      deps.log.warn("log-model: runs/create got no answer; looking for the run before trying again", { eventId: ev.id, attempt });
    }
  }
}

const CREATE_RUN_ATTEMPTS = 3;

/** Log what the run lacks: params (immutable in MLflow, so only missing ones) and metrics at a deterministic timestamp. */
async function logRunData(deps: LogModelDeps, ev: Succeeded, run: Run, metrics: Readonly<Record<string, number>>): Promise<void> {
  const have = new Map(run.data.params.map((p) => [p.key, p.value]));
  const params = Object.entries(ev.data.spec.params)
    .filter(([k]) => !have.has(k))
    .map(([key, value]) => ({ key, value }));
  for (const [k, v] of Object.entries(ev.data.spec.params)) {
    if (have.has(k) && have.get(k) !== v) deps.log.warn("log-model: run already has a different value for a param", { runId: run.info.run_id, param: k });
  }
  const logged = new Map(run.data.metrics.map((m) => [m.key, m.value]));
  const metricList = Object.entries(metrics)
    .filter(([k, v]) => logged.get(k) !== v)
    .map(([key, value]) => ({ key, value, timestamp: ev.data.finishedAt, step: 0 }));
  if (params.length || metricList.length) await deps.mlflow.logBatch(run.info.run_id, { params, metrics: metricList });
}

/** The training dataset as an MLflow dataset (runs/log-inputs), and the git commit as MLflow's source tags. */
async function logLineage(deps: LogModelDeps, ev: Succeeded, run: Run, out: TrainingOutputs | undefined): Promise<void> {
  const uri = ev.data.spec.dataset;
  if (uri) {
    const input = datasetInput(uri, out);
    // Replays must not log it twice: MLflow keeps one input per (name, digest) only in its SQL store.
    const logged = (run.inputs?.dataset_inputs ?? []).some((x) => JSON.stringify(x).includes(`"digest":"${input.dataset.digest}"`));
    if (!logged) await deps.mlflow.logInputs(run.info.run_id, [input]);
  }
  if (out?.source) {
    await deps.mlflow.logBatch(run.info.run_id, { tags: { "mlflow.source.git.commit": out.source.commit, "mlflow.source.git.repoURL": out.source.git } });
  }
}

async function upload(deps: LogModelDeps, run: Run, out: TrainingOutputs): Promise<void> {
  const root = proxyPathOf(run.info.artifact_uri);
  if (out.modelDir) {
    for (const rel of out.modelFiles) {
      await deps.mlflow.putArtifact(`${root}/model/${rel}`, fs.readFileSync(`${out.modelDir}/${rel}`));
    }
  }
  if (out.baselinePath) await deps.mlflow.putArtifact(`${root}/baseline.json`, fs.readFileSync(out.baselinePath));
  if (out.metricsPath) await deps.mlflow.putArtifact(`${root}/metrics.json`, fs.readFileSync(out.metricsPath));
}

export function lineageTags(ev: Succeeded, out: TrainingOutputs | undefined): Record<string, string> {
  const d = ev.data;
  const tags: Record<string, string> = {
    [TAG.trainingSpec]: JSON.stringify(d.spec),
    [TAG.eventId]: ev.id,
    [TAG.trigger]: JSON.stringify(d.trigger),
    [TAG.jobId]: d.jobId,
    [TAG.flavor]: out?.flavor ?? "unknown",
  };
  if (d.spec.dataset) tags[TAG.dataset] = d.spec.dataset;
  // The commit a git source checked out is the code version; a codeVersion given in the spec is kept as it is.
  const codeVersion = d.spec.codeVersion ?? out?.source?.commit;
  if (codeVersion) tags[TAG.codeVersion] = codeVersion;
  if (out?.baselinePath) tags[TAG.baseline] = "baseline.json";
  if (out?.signature) tags[TAG.signature] = JSON.stringify(out.signature);
  if (out?.labels) tags[TAG.labels] = JSON.stringify(out.labels);
  return tags;
}

/** Steps 1-4 of log-model. Idempotent: an existing version with this event id is returned instead of a new one. */
export async function register(deps: LogModelDeps, ev: Succeeded, out: TrainingOutputs | undefined, metrics: Readonly<Record<string, number>>): Promise<Registered> {
  const model = ev.data.model;
  const existing = (await versionsForEvent(deps, model, ev.id))[0];
  if (existing) {
    const run = existing.run_id ? await deps.mlflow.getRun(existing.run_id) : undefined;
    return { version: existing, run, experimentId: run?.info.experiment_id ?? "", created: false };
  }

  const { run, experimentId, ours } = await findOrCreateRun(deps, ev, out);
  const runId = run.info.run_id;
  await logRunData(deps, ev, run, metrics);
  await logLineage(deps, ev, run, out);
  const proxied = run.info.artifact_uri.startsWith(ARTIFACT_SCHEME);
  if (out && proxied) await upload(deps, run, out);
  else if (out) deps.log.warn("log-model: run artifacts are not behind the MLflow artifacts proxy; expecting the job to have uploaded model/", { runId });
  if (out?.mlmodel) {
    await deps.mlflow
      .logModelMetadata(runId, { ...out.mlmodel, artifact_path: "model", run_id: runId })
      .catch((e: unknown) => deps.log.warn("log-model: runs/log-model not accepted", { runId, error: e instanceof Error ? e.name : "error" }));
  }
  if (ours && run.info.status === "RUNNING") await deps.mlflow.updateRun(runId, { status: "FINISHED", endTime: ev.data.finishedAt });

  try {
    await deps.mlflow.createRegisteredModel(model, { description: `Registered by Flywheel from training of ${model}` });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }

  const source = `${trimTrailingSlashes(run.info.artifact_uri)}/model`;
  const created = await deps.mlflow.createModelVersion({
    name: model, source, runId, tags: lineageTags(ev, out), description: `job ${ev.data.jobId}`,
  });
  // Two deliveries of the same event racing across processes may both create a version: the lowest one wins.
  const same = await versionsForEvent(deps, model, ev.id);
  const winner = same[0] ?? created;
  if (winner.version !== created.version) {
    await deps.mlflow.deleteModelVersion(model, created.version).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
    return { version: winner, run, experimentId, created: false };
  }
  return { version: created, run: await deps.mlflow.getRun(runId), experimentId, created: true };
}
