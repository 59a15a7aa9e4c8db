// What the web UI needs from the platform: narrow interfaces the app wires in (ports, broker, registry reads, infer).
import type { MiddlewareHandler } from "hono";
import type { Role } from "../platform/auth/roles.ts";
import type { Config } from "../platform/config/index.ts";
import type { AnyCloudEvent } from "../platform/events/envelope.ts";
import type { Logger } from "../platform/log.ts";
import type { ModelRegistry, ServingBackend, TrainingBackend } from "../platform/ports.ts";

/** Role checks and CSRF, from `createAuth` (auth.middleware must already run before the UI, auth.routes at "/"). */
export type UiAuth = { requireRole(role: Role): MiddlewareHandler; readonly csrf: MiddlewareHandler };

/** The broker ingress: UI actions become events (training.requested, deployment.requested, model.promotion.requested). */
export interface UiEventBus {
  emit(event: AnyCloudEvent): Promise<void>;
}

/** A stored event as the embedded broker keeps it (a subset of its StoredEvent). */
export interface UiStoredEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | undefined;
  /** epoch ms */
  readonly receivedAt: number;
  /** The event, structured JSON (data, time, traceparent, ...). */
  readonly event: Readonly<Record<string, unknown>>;
}

/** A dead letter (a subset of platform/eventing DeadLetter). */
export interface UiDeadLetter {
  readonly id: string;
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  readonly trigger: string | undefined;
  readonly errorDest: string;
  readonly errorCode: number | undefined;
  /** Why the subscriber refused it, decoded (never base64). */
  readonly reason: string;
  readonly attempts: number | undefined;
  readonly state: "dead" | "replayed" | "discarded";
  readonly count: number;
  /** Base64 of the subscriber's response body (knativeerrordata), when it sent one. */
  readonly errorData?: string | undefined;
  /** epoch ms */
  readonly lastAt: number;
}

export interface UiEventLog {
  /** Newest first. `type` is a full CloudEvents type (dev.flywheel.retrain.decided). */
  recentEvents(q: { limit: number; offset: number; type?: string | undefined }): Promise<readonly UiStoredEvent[]>;
  deadLetters(q: { limit: number; offset: number }): Promise<readonly UiDeadLetter[]>;
  /**
   * A model version's lineage events, newest first, selected by the store on its indexes (data.model+version, the
   * job's data.jobId, its deployments' data.name). Optional: without it the lineage looks through the recent events.
   */
  eventsAbout?(q: { model: string; version: string; jobId?: string | undefined; deployments?: readonly string[] | undefined; limit?: number | undefined }): Promise<readonly UiStoredEvent[]>;
  /** One stored event by id (optional: without it the page looks through the recent events). */
  getEvent?(id: string): Promise<UiStoredEvent | undefined>;
  replayDeadLetter(id: string): Promise<unknown>;
  discardDeadLetter(id: string): Promise<unknown>;
}

// --- registry reads (MLflow REST 2.0 semantics; pages come with an opaque next-page token) ----------------------------

export interface UiExperiment {
  readonly experimentId: string;
  readonly name: string;
  readonly lifecycleStage?: string | undefined;
  /** epoch ms */
  readonly lastUpdateTime?: number | undefined;
}

export interface UiRun {
  readonly runId: string;
  readonly runName?: string | undefined;
  readonly experimentId: string;
  readonly status: string;
  /** epoch ms */
  readonly startTime: number;
  readonly endTime?: number | undefined;
  readonly metrics: Readonly<Record<string, number>>;
  readonly params: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
}

export interface UiMetricPoint {
  readonly step: number;
  readonly value: number;
  readonly timestamp: number;
}

export interface UiRegisteredModel {
  readonly name: string;
  readonly description?: string | undefined;
  readonly aliases: readonly { alias: string; version: string }[];
  readonly latestVersion?: string | undefined;
  /** epoch ms */
  readonly lastUpdatedTimestamp?: number | undefined;
}

export interface Paged<T> {
  readonly items: readonly T[];
  readonly nextPageToken?: string | undefined;
}

export interface UiRegistryReader {
  searchExperiments(q: { maxResults: number; pageToken?: string | undefined }): Promise<Paged<UiExperiment>>;
  getExperiment(id: string): Promise<UiExperiment>;
  /** orderBy in MLflow syntax, e.g. "metrics.accuracy DESC", "attributes.start_time DESC". */
  searchRuns(q: {
    experimentIds: readonly string[];
    orderBy: readonly string[];
    maxResults: number;
    pageToken?: string | undefined;
    filter?: string | undefined;
  }): Promise<Paged<UiRun>>;
  getRun(runId: string): Promise<UiRun>;
  getMetricHistory(runId: string, key: string): Promise<readonly UiMetricPoint[]>;
  searchRegisteredModels(q: { maxResults: number; pageToken?: string | undefined }): Promise<Paged<UiRegisteredModel>>;
  /** One directory of a run's artifacts (paths relative to the run's artifact root). */
  listArtifacts?(runId: string, path: string): Promise<readonly UiArtifact[]>;
  /** One artifact's bytes. */
  getArtifact?(runId: string, path: string): Promise<Buffer>;
}

export interface UiArtifact {
  readonly path: string;
  readonly isDir: boolean;
  readonly size?: number | undefined;
}

// --- inference -------------------------------------------------------------------------------------------------------

export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown> | undefined;
  data: unknown[];
}
export interface V2InferRequest {
  id?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
  inputs: V2Tensor[];
  outputs?: { name: string; parameters?: Record<string, unknown> | undefined }[] | undefined;
}
export interface V2InferResponse {
  model_name: string;
  model_version?: string | undefined;
  id?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
  outputs: V2Tensor[];
}
export interface V2ModelMetadata {
  name: string;
  versions?: string[] | undefined;
  platform?: string | undefined;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
  /** Feature names under `features`/`columns`, class labels under `labels`, when the server knows them. */
  parameters?: Record<string, unknown> | undefined;
}

export interface UiInference {
  /** GET /v2/models/{deployment} on the deployment's server. */
  metadata(deployment: string): Promise<V2ModelMetadata>;
  /** POST /v2/models/{deployment}/infer. Rejects with ValidationError (4xx) or UpstreamError. */
  inferV2(deployment: string, request: V2InferRequest): Promise<V2InferResponse>;
  /** The `infer` function with natural-language input: decoded predictions and, when it made one, the V2 exchange. */
  inferText?(deployment: string, text: string): Promise<{ predictions: unknown; request?: unknown; response?: unknown }>;
}

// --- drift, health, progress -----------------------------------------------------------------------------------------

export interface UiDriftSnapshot {
  readonly model: string;
  readonly version: string;
  readonly samples: number;
  readonly drifted: boolean;
  readonly scores: Readonly<Record<string, number>>;
  /** Earlier scorings, oldest first (the StateStore's drift history, or Prometheus's recorded series). */
  readonly history?: readonly { readonly at: number; readonly scores: Readonly<Record<string, number>> }[] | undefined;
  /** Set when `scores` are the last stored ones, not the current window's (after a restart, before new traffic). */
  readonly lastScoredAt?: number | undefined;
}

export interface UiDrift {
  snapshots(): Promise<readonly UiDriftSnapshot[]> | readonly UiDriftSnapshot[];
  /** The threshold above which a feature counts as drifted (default 0.2). */
  readonly threshold: number;
  /** Whether Prometheus and Alertmanager are configured: without both, drift never turns into an alert by itself. */
  readonly alerting?: { readonly prometheus: boolean; readonly alertmanager: boolean } | undefined;
  /** Where the scores come from, said under the heading. */
  readonly source?: string | undefined;
  /** Set when this UI has no drift scores to show at all, saying why (Knative mode without Prometheus). */
  readonly unavailable?: string | undefined;
}

export interface UiHealth {
  /** One row per component (platform/app/health.ts runChecks shape). */
  check(): Promise<readonly { name: string; ok: boolean; detail?: string | undefined }[]>;
}

/** A progress point a job wrote to progress.jsonl (docs/artifacts.md). */
export interface ProgressPoint {
  readonly step: number;
  readonly metric: string;
  readonly value: number;
  readonly time?: number | undefined;
}

export type UiTraining = Pick<TrainingBackend, "get" | "list" | "logs" | "cancel"> & {
  /** progress.jsonl of a job so far (empty when none). */
  progress(jobId: string): Promise<readonly ProgressPoint[]>;
  /** Total number of jobs matching a filter, for the pager (optional: without it the pager shows next/previous only). */
  count?(filter: { state?: string | undefined; model?: string | undefined }): Promise<number>;
};

/** One arm's tallies (platform/serving/local/experiment CandidateStats). */
export interface UiCandidateStats {
  readonly requests: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms?: number | undefined;
  /** Percentiles estimated from histogram buckets (a single model's series), not from the exact latencies. */
  readonly estimated?: boolean | undefined;
}

/** A running canary (functions/deploy-model CanaryRecord, the fields the page shows). */
export interface UiCanary {
  readonly stable: { readonly deployment: string; readonly version: string };
  readonly candidate: { readonly deployment: string; readonly version: string };
  readonly percent: number;
  /** epoch ms */
  readonly startedAt: number;
  readonly decideAfterRequests: number;
  readonly decideAfterMinutes: number;
}

export interface UiTraffic {
  /** Per-candidate tallies of an experiment deployment, or the one row of a single model (keyed by its name). */
  stats(deployment: string): Promise<Readonly<Record<string, UiCandidateStats>> | undefined>;
  /** The canary running under this deployment name, if any. */
  canary?(deployment: string): UiCanary | undefined | Promise<UiCanary | undefined>;
  /** Where the figures come from and over what window, said under the table (default: the embedded tallies). */
  readonly source?: string | undefined;
  /** Set when this UI cannot show traffic at all, saying why and what to configure (Knative mode without Prometheus). */
  readonly unavailable?: string | undefined;
}

export interface UiDeps {
  readonly auth: UiAuth;
  readonly bus: UiEventBus;
  readonly events: UiEventLog;
  readonly training: UiTraining;
  /** Job id launch-training derives from a training.requested event (platform/training/updates.ts jobIdFor). */
  jobIdForRequest?(model: string, eventId: string): string;
  readonly registry: UiRegistryReader;
  readonly models: Pick<ModelRegistry, "searchModelVersions" | "getModelVersion">;
  readonly serving: Pick<ServingBackend, "list" | "get" | "name">;
  readonly inference: UiInference;
  readonly drift: UiDrift;
  readonly health: UiHealth;
  /** In-process traffic tallies and canaries (optional: without them the deployment page shows no traffic). */
  readonly traffic?: UiTraffic | undefined;
  /** Outside UIs and Airflow credentials (config.links, config.airflow). */
  readonly config: Pick<Config, "links" | "airflow">;
  readonly log: Logger;
  /** Injected for the Airflow client (tests); default global fetch. */
  readonly fetch?: ((input: string, init?: RequestInit) => Promise<Response>) | undefined;
  /** epoch ms; injectable for deterministic pages */
  readonly now?: (() => number) | undefined;
}
