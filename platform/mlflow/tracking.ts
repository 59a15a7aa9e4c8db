// Tracking half of the MLflow client: experiments, runs, metrics, params, tags, log-batch chunking, paging.
import { isAlreadyExists } from "./errors.ts";
import {
  ExperimentSchema, MetricSchema, RunInfoSchema, RunSchema, parseAs,
  type Experiment, type Metric, type Page, type Run, type RunInfo, type RunStatus,
} from "./schemas.ts";
import { MlflowTransport } from "./transport.ts";
import * as z from "zod";

export const VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

/** MLflow's log-batch limits (service.proto LogBatch). */
export const BATCH_LIMITS = { total: 1000, metrics: 1000, params: 100, tags: 100 } as const;

export interface KeyValue { readonly key: string; readonly value: string }
export interface MetricInput { readonly key: string; readonly value: number; readonly timestamp?: number; readonly step?: number }

export interface SearchOptions {
  readonly filter?: string | undefined;
  readonly orderBy?: readonly string[] | undefined;
  readonly maxResults?: number | undefined;
  readonly pageToken?: string | undefined;
}

const toPairs = (tags: Readonly<Record<string, string>> | undefined): KeyValue[] =>
  Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));

const metricsJson = (m: readonly MetricInput[], now: number): Record<string, unknown>[] =>
  m.map((x) => ({ key: x.key, value: Number.isNaN(x.value) ? "NaN" : x.value, timestamp: x.timestamp ?? now, step: x.step ?? 0 }));

/** Split a batch into requests that respect every log-batch limit, params and tags first. */
export function chunkBatch(metrics: readonly MetricInput[], params: readonly KeyValue[], tags: readonly KeyValue[]) {
  const out: { metrics: MetricInput[]; params: KeyValue[]; tags: KeyValue[] }[] = [];
  let mi = 0, pi = 0, ti = 0;
  while (mi < metrics.length || pi < params.length || ti < tags.length) {
    const p = params.slice(pi, pi + BATCH_LIMITS.params);
    const t = tags.slice(ti, ti + BATCH_LIMITS.tags);
    const room = Math.min(BATCH_LIMITS.metrics, BATCH_LIMITS.total - p.length - t.length);
    const m = metrics.slice(mi, mi + room);
    out.push({ metrics: m, params: p, tags: t });
    pi += p.length; ti += t.length; mi += m.length;
  }
  return out;
}

const isKvList = (v: readonly KeyValue[] | Record<string, string>): v is readonly KeyValue[] => Array.isArray(v);

/** One dataset input of runs/log-inputs, as MLflow's Dataset message: source, schema and profile are JSON strings. */
export interface DatasetInput {
  readonly tags?: readonly KeyValue[];
  readonly dataset: {
    readonly name: string;
    readonly digest: string;
    readonly source_type: string;
    readonly source: string;
    readonly schema?: string;
    readonly profile?: string;
  };
}

export class TrackingClient extends MlflowTransport {
  // ---- experiments
  async createExperiment(name: string, opts: { artifactLocation?: string; tags?: Record<string, string> } = {}): Promise<string> {
    const r = await this.call("POST", "mlflow/experiments/create", { name, artifact_location: opts.artifactLocation, tags: toPairs(opts.tags) });
    return parseAs(z.object({ experiment_id: z.string() }), r, "experiments/create").experiment_id;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const r = await this.call("GET", "mlflow/experiments/get", { experiment_id: experimentId });
    return parseAs(z.object({ experiment: ExperimentSchema }), r, "experiments/get").experiment;
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    const r = await this.call("GET", "mlflow/experiments/get-by-name", { experiment_name: name });
    return parseAs(z.object({ experiment: ExperimentSchema }), r, "experiments/get-by-name").experiment;
  }

  /** Get an experiment by name, creating it if needed; safe when several callers race to create it. */
  async getOrCreateExperiment(name: string): Promise<Experiment> {
    try {
      return await this.getExperimentByName(name);
    } catch (e) {
      if (!(e instanceof Error && "errorCode" in e && e.errorCode === "RESOURCE_DOES_NOT_EXIST")) throw e;
    }
    try {
      return await this.getExperiment(await this.createExperiment(name));
    } catch (e) {
      if (isAlreadyExists(e)) return this.getExperimentByName(name);
      throw e;
    }
  }

  async searchExperiments(opts: SearchOptions & { viewType?: ViewType } = {}): Promise<Page<Experiment>> {
    const r = await this.call("POST", "mlflow/experiments/search", {
      max_results: opts.maxResults ?? 1000, page_token: opts.pageToken, filter: opts.filter, order_by: opts.orderBy, view_type: opts.viewType,
    });
    const p = parseAs(z.object({ experiments: z.array(ExperimentSchema).default([]), next_page_token: z.string().optional() }), r, "experiments/search");
    return { items: p.experiments, nextPageToken: p.next_page_token || undefined };
  }

  async *iterateExperiments(opts: SearchOptions & { viewType?: ViewType } = {}): AsyncGenerator<Experiment> {
    yield* paginate((pageToken) => this.searchExperiments({ ...opts, pageToken }));
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    await this.call("POST", "mlflow/experiments/delete", { experiment_id: experimentId });
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.call("POST", "mlflow/experiments/set-experiment-tag", { experiment_id: experimentId, key, value });
  }

  // ---- runs
  async createRun(opts: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<Run> {
    // Not retried after a connection failure: the run may exist already (callers find it by a tag, see log-model).
    const r = await this.call("POST", "mlflow/runs/create", {
      experiment_id: opts.experimentId, run_name: opts.runName, start_time: opts.startTime ?? Date.now(), tags: toPairs(opts.tags),
    }, { retryConnection: false });
    return parseAs(z.object({ run: RunSchema }), r, "runs/create").run;
  }

  async updateRun(runId: string, opts: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const r = await this.call("POST", "mlflow/runs/update", { run_id: runId, run_uuid: runId, status: opts.status, end_time: opts.endTime, run_name: opts.runName });
    return parseAs(z.object({ run_info: RunInfoSchema }), r, "runs/update").run_info;
  }

  async getRun(runId: string): Promise<Run> {
    const r = await this.call("GET", "mlflow/runs/get", { run_uuid: runId, run_id: runId });
    return parseAs(z.object({ run: RunSchema }), r, "runs/get").run;
  }

  async deleteRun(runId: string): Promise<void> {
    await this.call("POST", "mlflow/runs/delete", { run_id: runId });
  }

  async searchRuns(opts: SearchOptions & { experimentIds: readonly string[]; runViewType?: ViewType }): Promise<Page<Run>> {
    const r = await this.call("POST", "mlflow/runs/search", {
      experiment_ids: opts.experimentIds, filter: opts.filter, run_view_type: opts.runViewType ?? "ACTIVE_ONLY",
      max_results: opts.maxResults ?? 1000, order_by: opts.orderBy, page_token: opts.pageToken,
    });
    const p = parseAs(z.object({ runs: z.array(RunSchema).default([]), next_page_token: z.string().optional() }), r, "runs/search");
    return { items: p.runs, nextPageToken: p.next_page_token || undefined };
  }

  async *iterateRuns(opts: SearchOptions & { experimentIds: readonly string[]; runViewType?: ViewType }): AsyncGenerator<Run> {
    yield* paginate((pageToken) => this.searchRuns({ ...opts, pageToken }));
  }

  async logMetric(runId: string, key: string, value: number, opts: { timestamp?: number; step?: number; modelId?: string } = {}): Promise<void> {
    await this.call("POST", "mlflow/runs/log-metric", {
      run_id: runId, run_uuid: runId, key, value: Number.isNaN(value) ? "NaN" : value,
      timestamp: opts.timestamp ?? Date.now(), step: opts.step ?? 0, model_id: opts.modelId,
    });
  }

  /** POST runs/log-parameter (the path is log-parameter, not log-param). */
  async logParam(runId: string, key: string, value: string): Promise<void> {
    await this.call("POST", "mlflow/runs/log-parameter", { run_id: runId, run_uuid: runId, key, value });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.call("POST", "mlflow/runs/set-tag", { run_id: runId, run_uuid: runId, key, value });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.call("POST", "mlflow/runs/delete-tag", { run_id: runId, key });
  }

  /** runs/log-inputs: MLflow datasets (name, digest, source_type, source, schema, profile) with their input tags. */
  async logInputs(runId: string, datasets: readonly DatasetInput[]): Promise<void> {
    await this.call("POST", "mlflow/runs/log-inputs", { run_id: runId, datasets });
  }

  /** Log any number of metrics, params and tags, in as many log-batch requests as the limits need. */
  async logBatch(runId: string, batch: { metrics?: readonly MetricInput[]; params?: readonly KeyValue[] | Record<string, string>; tags?: readonly KeyValue[] | Record<string, string> }): Promise<number> {
    const pairs = (v: readonly KeyValue[] | Record<string, string> | undefined): KeyValue[] =>
      v === undefined ? [] : isKvList(v) ? [...v] : toPairs(v);
    const now = Date.now();
    const chunks = chunkBatch(batch.metrics ?? [], pairs(batch.params), pairs(batch.tags));
    for (const c of chunks) {
      await this.call("POST", "mlflow/runs/log-batch", { run_id: runId, metrics: metricsJson(c.metrics, now), params: c.params, tags: c.tags });
    }
    return chunks.length;
  }

  /** Full history of one metric, following page tokens. */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call("GET", "mlflow/metrics/get-history", { run_id: runId, run_uuid: runId, metric_key: key, page_token: pageToken });
      const p = parseAs(z.object({ metrics: z.array(MetricSchema).default([]), next_page_token: z.string().optional() }), r, "metrics/get-history");
      out.push(...p.metrics);
      pageToken = p.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /** MLflow 2.x: record an MLmodel (as JSON) on the run. */
  async logModelMetadata(runId: string, mlmodel: Record<string, unknown>): Promise<void> {
    await this.call("POST", "mlflow/runs/log-model", { run_id: runId, model_json: JSON.stringify(mlmodel) });
  }

  /** MLflow 3.x: record the logged models a run produced. */
  async logOutputs(runId: string, models: readonly { modelId: string; step?: number }[]): Promise<void> {
    await this.call("POST", "mlflow/runs/outputs", { run_id: runId, models: models.map((m) => ({ model_id: m.modelId, step: m.step ?? 0 })) });
  }
}

/** Follow next_page_token until the last page. */
export async function* paginate<T>(fetchPage: (token: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let token: string | undefined;
  do {
    const p = await fetchPage(token);
    yield* p.items;
    token = p.nextPageToken;
  } while (token);
}
