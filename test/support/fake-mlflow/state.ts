// The fake MLflow's own in-memory state and the JSON shapes MLflow 2.17.2 answers with, key for key as recorded
// (experiment: steps 2/15/24; run: 70/73/110/131; registered model: 218/221/283; model version: 246/248/282).
import { clock, hexId } from "./params.ts";

export interface Experiment {
  id: string;
  name: string;
  artifactLocation: string;
  stage: "active" | "deleted";
  created: number;
  updated: number;
  tags: Map<string, string>;
}

export interface MetricPoint {
  key: string;
  /** NaN is kept; ±Infinity is stored as ±Float.MAX, as MLflow's database does (step 135). */
  value: number;
  timestamp: number;
  step: number;
}

export interface DatasetInput {
  tags: [string, string][];
  dataset: Record<string, string>;
}

export interface Run {
  id: string;
  experimentId: string;
  name: string;
  userId: string;
  status: string;
  startTime: number;
  endTime: number | undefined;
  artifactUri: string;
  stage: "active" | "deleted";
  metrics: MetricPoint[];
  params: Map<string, string>;
  tags: Map<string, string>;
  inputs: DatasetInput[];
}

export interface RegisteredModel {
  name: string;
  created: number;
  updated: number;
  description: string;
  tags: Map<string, string>;
  aliases: Map<string, number>;
  /** Version numbers are never reused after a delete (step 318 gets version 4 after version 3 was deleted). */
  lastVersion: number;
  versions: Map<number, ModelVersion>;
}

export interface ModelVersion {
  version: number;
  created: number;
  updated: number;
  stage: string;
  description: string;
  source: string;
  runId: string;
  tags: Map<string, string>;
}

const ADJECTIVES = ["bold", "calm", "eager", "fast", "gentle", "keen", "lucky", "quiet", "sharp", "wise"];
const ANIMALS = ["ant", "bee", "cat", "doe", "eel", "fox", "gnu", "hen", "owl", "yak"];
const pick = (xs: string[]): string => xs[Math.floor(Math.random() * xs.length)] ?? "x";

export class State {
  readonly now = clock();
  readonly experiments = new Map<string, Experiment>();
  readonly runs = new Map<string, Run>();
  readonly models = new Map<string, RegisteredModel>();
  /** Artifact bytes by their path under mlflow-artifacts:/ (`<exp>/<run>/artifacts/...`). */
  readonly artifacts = new Map<string, Buffer>();
  /** Directories made by uploads: they outlive their files, as on the real server's disk (step 210 after 208). */
  readonly artifactDirs = new Set<string>();
  private nextExperiment = 0;

  constructor() {
    this.addExperiment("Default", undefined, []);
  }

  addExperiment(name: string, artifactLocation: string | undefined, tags: [string, string][]): Experiment {
    const id = String(this.nextExperiment++);
    const t = this.now();
    const e: Experiment = { id, name, artifactLocation: artifactLocation || `mlflow-artifacts:/${id}`, stage: "active", created: t, updated: t, tags: new Map(tags) };
    this.experiments.set(id, e);
    return e;
  }

  experimentByName(name: string): Experiment | undefined {
    return [...this.experiments.values()].find((e) => e.name === name);
  }

  addRun(exp: Experiment, name: string | undefined, userId: string, startTime: number, tags: [string, string][]): Run {
    const id = hexId();
    const runName = name || `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${Math.floor(Math.random() * 1000)}`;
    const run: Run = {
      id, experimentId: exp.id, name: runName, userId, status: "RUNNING", startTime, endTime: undefined,
      artifactUri: `${exp.artifactLocation.replace(/\/+$/, "")}/${id}/artifacts`, stage: "active", metrics: [], params: new Map(),
      tags: new Map([...tags, ["mlflow.runName", runName]]), inputs: [],
    };
    this.runs.set(id, run);
    return run;
  }
}

export const kv = (m: Map<string, string>): { key: string; value: string }[] => [...m].map(([key, value]) => ({ key, value }));
const withList = <T>(key: string, list: T[]): Record<string, T[]> => (list.length ? { [key]: list } : {});

export const experimentJson = (e: Experiment): Record<string, unknown> => ({
  experiment_id: e.id, name: e.name, artifact_location: e.artifactLocation, lifecycle_stage: e.stage,
  last_update_time: e.updated, creation_time: e.created, ...withList("tags", kv(e.tags)),
});

/** NaN answers as the string "NaN"; infinities were clamped on the way in. */
export const metricValue = (v: number): number | string => (Number.isNaN(v) ? "NaN" : v);
export const metricJson = (m: MetricPoint): Record<string, unknown> => ({ key: m.key, value: metricValue(m.value), timestamp: m.timestamp, step: m.step });

/** MLflow's latest value per key: the greatest (step, timestamp, value). */
export function latestMetrics(run: Run): MetricPoint[] {
  const latest = new Map<string, MetricPoint>();
  for (const m of run.metrics) {
    const cur = latest.get(m.key);
    const newer = !cur || m.step > cur.step || (m.step === cur.step && (m.timestamp > cur.timestamp || (m.timestamp === cur.timestamp && !(m.value <= cur.value))));
    if (newer) latest.set(m.key, m);
  }
  return [...latest.values()];
}

export const runInfoJson = (r: Run): Record<string, unknown> => ({
  run_uuid: r.id, experiment_id: r.experimentId, run_name: r.name, user_id: r.userId, status: r.status, start_time: r.startTime,
  ...(r.endTime === undefined ? {} : { end_time: r.endTime }), artifact_uri: r.artifactUri, lifecycle_stage: r.stage, run_id: r.id,
});

/** runs/create answers without `inputs` (step 70); runs/get and runs/search with it (steps 110, 149). */
export const runJson = (r: Run, withInputs = true): Record<string, unknown> => ({
  info: runInfoJson(r),
  data: { ...withList("metrics", latestMetrics(r).map(metricJson)), ...withList("params", kv(r.params)), ...withList("tags", kv(r.tags)) },
  ...(withInputs ? { inputs: withList("dataset_inputs", r.inputs.map((i) => ({ ...withList("tags", i.tags.map(([key, value]) => ({ key, value }))), dataset: i.dataset }))) } : {}),
});

/** A version; `latest_versions` inside a registered model carry no aliases (step 283). */
export function versionJson(m: RegisteredModel, v: ModelVersion, withAliases = true): Record<string, unknown> {
  const aliases = withAliases ? [...m.aliases].filter(([, n]) => n === v.version).map(([a]) => a) : [];
  return {
    name: m.name, version: String(v.version), creation_timestamp: v.created, last_updated_timestamp: v.updated, current_stage: v.stage,
    description: v.description, source: v.source, run_id: v.runId, status: "READY", ...withList("tags", kv(v.tags)), run_link: "", ...withList("aliases", aliases),
  };
}

export const STAGES = ["None", "Staging", "Production", "Archived"];

/** The newest version in each stage (optionally only the given stages), by version number (steps 262-264). */
export function latestVersions(m: RegisteredModel, stages: string[] = []): ModelVersion[] {
  const wanted = stages.length ? stages.map((s) => s.toLowerCase()) : STAGES.map((s) => s.toLowerCase());
  const best = new Map<string, ModelVersion>();
  for (const v of m.versions.values()) {
    if (!wanted.includes(v.stage.toLowerCase())) continue;
    const cur = best.get(v.stage);
    if (!cur || v.version > cur.version) best.set(v.stage, v);
  }
  return [...best.values()].sort((a, b) => a.version - b.version);
}

export function modelJson(m: RegisteredModel, withLatest: boolean): Record<string, unknown> {
  return {
    name: m.name, creation_timestamp: m.created, last_updated_timestamp: m.updated, ...(m.description ? { description: m.description } : {}),
    ...(withLatest ? withList("latest_versions", latestVersions(m).map((v) => versionJson(m, v, false))) : {}),
    ...withList("tags", kv(m.tags)), ...withList("aliases", [...m.aliases].map(([alias, version]) => ({ alias, version: String(version) }))),
  };
}
