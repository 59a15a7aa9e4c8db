// Adapters from the platform's real components (MlflowClient, the embedded broker, the V2 client, DriftMonitor,
// health checks) to the narrow UiDeps interfaces, so the composition root wires the UI in one call.
import { runChecks } from "../platform/app/health.ts";
import type { HealthCheck } from "../platform/app/health.ts";
import type { Config } from "../platform/config/index.ts";
import type { Logger } from "../platform/log.ts";
import { proxyPathOf } from "../platform/mlflow/index.ts";
import type { MlflowClient, Run } from "../platform/mlflow/index.ts";
import type { InferenceTarget, ModelRegistry, ServingBackend, TrainingBackend } from "../platform/ports.ts";
import { jobIdFor } from "../platform/training/updates.ts";
import type { EventsAboutQuery } from "../platform/local/broker/types.ts";
import type { UiAuth, UiDeadLetter, UiDeps, UiDriftSnapshot, UiEventBus, UiRegistryReader, UiRun, UiStoredEvent, UiTraffic, V2InferRequest, V2InferResponse, V2ModelMetadata } from "./deps.ts";
import { readProgress } from "./progress.ts";
import type { DriftPoint } from "../platform/drift/history.ts";
import { prometheusDrift, type PrometheusDriftOptions } from "../platform/drift/prometheus-view.ts";
import type { UiDrift } from "./deps.ts";

export type MlflowReader = Pick<MlflowClient, "searchExperiments" | "getExperiment" | "searchRuns" | "getRun" | "getMetricHistory" | "searchRegisteredModels"> &
  Partial<Pick<MlflowClient, "listArtifacts" | "getArtifact">>;

const pairs = (list: readonly { key: string; value: string }[]): Record<string, string> => Object.fromEntries(list.map((p) => [p.key, p.value]));

export function toUiRun(r: Run): UiRun {
  return {
    runId: r.info.run_id,
    runName: r.info.run_name || undefined,
    experimentId: r.info.experiment_id,
    status: r.info.status,
    startTime: r.info.start_time ?? 0,
    endTime: r.info.end_time,
    metrics: Object.fromEntries(r.data.metrics.map((m) => [m.key, m.value])),
    params: pairs(r.data.params),
    tags: pairs(r.data.tags),
  };
}

/** MlflowClient (embedded registry or a real MLflow) as the UI's registry reader. */
export function registryReader(m: MlflowReader): UiRegistryReader {
  return {
    async searchExperiments(q) {
      const p = await m.searchExperiments({ maxResults: q.maxResults, pageToken: q.pageToken, orderBy: ["last_update_time DESC"] });
      return { items: p.items.map((e) => ({ experimentId: e.experiment_id, name: e.name, lifecycleStage: e.lifecycle_stage, lastUpdateTime: e.last_update_time })), nextPageToken: p.nextPageToken };
    },
    async getExperiment(id) {
      const e = await m.getExperiment(id);
      return { experimentId: e.experiment_id, name: e.name, lifecycleStage: e.lifecycle_stage, lastUpdateTime: e.last_update_time };
    },
    async searchRuns(q) {
      const p = await m.searchRuns({ experimentIds: q.experimentIds, orderBy: q.orderBy, maxResults: q.maxResults, pageToken: q.pageToken, filter: q.filter });
      return { items: p.items.map(toUiRun), nextPageToken: p.nextPageToken };
    },
    getRun: async (id) => toUiRun(await m.getRun(id)),
    getMetricHistory: async (id, key) => (await m.getMetricHistory(id, key)).map((x) => ({ step: x.step, value: x.value, timestamp: x.timestamp })),
    ...(m.listArtifacts && m.getArtifact ? artifactReader(m.listArtifacts.bind(m), m.getArtifact.bind(m), m.getRun.bind(m)) : {}),
    async searchRegisteredModels(q) {
      const p = await m.searchRegisteredModels({ maxResults: q.maxResults, pageToken: q.pageToken });
      return {
        items: p.items.map((r) => ({
          name: r.name,
          description: r.description,
          aliases: r.aliases,
          latestVersion: r.latest_versions.map((v) => v.version).sort((a, b) => Number(b) - Number(a))[0],
          lastUpdatedTimestamp: r.last_updated_timestamp,
        })),
        nextPageToken: p.nextPageToken,
      };
    },
  };
}

/** A run's artifacts through the MLflow API: list under the run, read through the mlflow-artifacts proxy. */
function artifactReader(list: MlflowClient["listArtifacts"], get: MlflowClient["getArtifact"], getRun: MlflowClient["getRun"]): Pick<UiRegistryReader, "listArtifacts" | "getArtifact"> {
  return {
    listArtifacts: async (runId, p) => (await list(runId, p || undefined)).files.map((f) => ({ path: f.path, isDir: f.is_dir, size: f.file_size })),
    getArtifact: async (runId, p) => get(`${proxyPathOf((await getRun(runId)).info.artifact_uri)}/${p}`),
  };
}

/** The embedded broker's shape (platform/local/broker EmbeddedBroker), or Knative mode's StateStore (asynchronous). */
export interface BrokerLike extends UiEventBus {
  recentEvents(q: { limit?: number; offset?: number; type?: string | undefined }): readonly UiStoredEvent[] | Promise<readonly UiStoredEvent[]>;
  eventsAbout(q: EventsAboutQuery): readonly UiStoredEvent[] | Promise<readonly UiStoredEvent[]>;
  deadLetters(q: { limit?: number; offset?: number }): readonly UiDeadLetter[] | Promise<readonly UiDeadLetter[]>;
  replayDeadLetter(id: string): Promise<void>;
  discardDeadLetter(id: string): void | Promise<void>;
}

/** functions/infer V2Client's shape. */
export interface V2ClientLike {
  metadata(target: InferenceTarget): Promise<V2ModelMetadata>;
  infer(target: InferenceTarget, req: V2InferRequest): Promise<{ response: V2InferResponse }>;
}

export interface EmbeddedUiParts {
  readonly auth: UiAuth;
  readonly broker: BrokerLike;
  readonly training: TrainingBackend;
  readonly mlflow: MlflowReader;
  readonly registry: ModelRegistry;
  readonly serving: ServingBackend;
  readonly v2: V2ClientLike;
  /** The infer function on natural-language input (inferDeployment with {kind: "text"}), when wired. */
  readonly inferText?: ((deployment: string, text: string) => Promise<{ predictions: unknown }>) | undefined;
  readonly drift: {
    snapshot(model: string, version: string): UiDriftSnapshot | undefined;
    readonly threshold?: number;
  };
  /** The monitor's scorings over time, kept in the StateStore (embedded mode). */
  readonly driftHistory?: { read(model: string, version: string): Promise<readonly DriftPoint[]> } | undefined;
  /** Knative mode: drift as Prometheus's rules record it, over all infer replicas (instead of an in-process monitor). */
  readonly driftPrometheus?: PrometheusDriftOptions | undefined;
  /** Why no drift can be shown, when neither a monitor nor Prometheus is there. */
  readonly driftUnavailable?: string | undefined;
  readonly checks: readonly HealthCheck[];
  /** The local serving backend's experiment tallies and deploy-model's running canaries. */
  readonly traffic?: UiTraffic | undefined;
  readonly config: Config;
  readonly log: Logger;
}

export function uiDepsFrom(p: EmbeddedUiParts): UiDeps {
  return {
    auth: p.auth,
    bus: p.broker,
    events: {
      recentEvents: async (q) => p.broker.recentEvents(q),
      eventsAbout: async (q) => p.broker.eventsAbout(q),
      deadLetters: async (q) => p.broker.deadLetters({ ...q }),
      replayDeadLetter: (id) => p.broker.replayDeadLetter(id),
      discardDeadLetter: async (id) => p.broker.discardDeadLetter(id),
    },
    training: {
      get: (id) => p.training.get(id),
      list: (f) => p.training.list(f),
      logs: (id, o) => p.training.logs(id, o),
      cancel: (id) => p.training.cancel(id),
      progress: async (id) => readProgress((await p.training.get(id))?.artifactUri),
    },
    jobIdForRequest: (model, eventId) => jobIdFor(model, eventId),
    registry: registryReader(p.mlflow),
    models: p.registry,
    serving: p.serving,
    inference: {
      metadata: async (name) => p.v2.metadata(await p.serving.target(name)),
      inferV2: async (name, req) => (await p.v2.infer(await p.serving.target(name), req)).response,
      inferText: p.inferText,
    },
    drift: driftView(p),
    health: { check: () => runChecks(p.checks) },
    traffic: p.traffic,
    config: p.config,
    log: p.log.child({ component: "ui" }),
  };
}

/**
 * Drift per served version. Embedded: the monitor's current window, with its history from the StateStore; after a
 * restart, before new traffic, the last stored scores stand in (marked with when they were scored). Knative: the
 * recorded series in Prometheus, which every replica reads alike.
 */
export function driftView(p: Pick<EmbeddedUiParts, "drift" | "driftHistory" | "driftPrometheus" | "driftUnavailable" | "config"> & { readonly serving: Pick<ServingBackend, "list"> }): UiDrift {
  const threshold = p.drift.threshold ?? 0.2;
  const served = async (): Promise<{ model: string; version: string }[]> => {
    const seen = new Map<string, { model: string; version: string }>();
    for (const d of await p.serving.list()) if (d.model && d.version) seen.set(`${d.model}/${d.version}`, { model: d.model, version: d.version });
    return [...seen.values()];
  };
  const drifted = (scores: Readonly<Record<string, number>>): boolean => Object.values(scores).some((v) => v > threshold);
  return {
    threshold,
    alerting: { prometheus: Boolean(p.config.links.prometheus), alertmanager: Boolean(p.config.links.alertmanager) },
    unavailable: p.driftUnavailable,
    source: p.driftPrometheus
      ? "Scores are Prometheus's recorded PSI over the last 30 minutes of traffic of every replica; the chart covers the last 6 hours."
      : "Scores are computed in this process over each version's last 1000 requests; the chart keeps up to 2000 points per version (one per 10 s at most) for 7 days.",
    snapshots: async () => {
      const versions = await served();
      if (p.driftPrometheus) return (await prometheusDrift(p.driftPrometheus, versions)).map((v) => ({ ...v, drifted: drifted(v.scores) }));
      const out: UiDriftSnapshot[] = [];
      for (const { model, version } of versions) {
        const s = p.drift.snapshot(model, version);
        const history = p.driftHistory ? await p.driftHistory.read(model, version) : [];
        const last = history.at(-1);
        if (s && Object.keys(s.scores).length) out.push({ ...s, history });
        else if (last) out.push({ model, version, samples: s?.samples ?? 0, drifted: drifted(last.scores), scores: last.scores, history, lastScoredAt: last.at });
      }
      return out;
    },
  };
}
