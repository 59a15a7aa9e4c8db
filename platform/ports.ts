// The ports between functions and the platform (architecture.md "Ports"). Adapters implement them; handlers get them injected.
import type { AnyCloudEvent } from "./events/envelope.ts";
import type { EventData, TriggerRef } from "./events/catalogue.ts";
import type { DeploymentSpec, ServingBackendName } from "./specs/deployment.ts";
import type { TrainingKind, TrainingSpec } from "./specs/training.ts";

/** Where functions send the events they emit: the embedded broker, or a Knative broker ingress over HTTP. */
export interface EventBus {
  /** Resolves once the event is durably accepted (202 from the ingress). */
  emit(event: AnyCloudEvent): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------------
// Training

export const JOB_STATES = ["pending", "running", "succeeded", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];
export const isJobState = (v: unknown): v is JobState => JOB_STATES.includes(v as JobState);
export const isTerminal = (s: JobState): boolean => s === "succeeded" || s === "failed" || s === "cancelled";

export interface JobTransition {
  readonly state: JobState;
  /** epoch ms */
  readonly at: number;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
}

export interface JobRecord {
  readonly id: string;
  readonly model: string;
  readonly kind: TrainingKind;
  readonly backend: "local" | "kubernetes";
  readonly state: JobState;
  readonly spec: TrainingSpec;
  readonly trigger: TriggerRef;
  /** epoch ms */
  readonly createdAt: number;
  readonly startedAt?: number | undefined;
  readonly finishedAt?: number | undefined;
  readonly exitCode?: number | undefined;
  /** Rank whose failure ended the job (ddp). */
  readonly failedRank?: number | undefined;
  readonly failureReason?: string | undefined;
  readonly message?: string | undefined;
  /** Where the job wrote its outputs (model, metrics.json, signature.json, baseline.json). */
  readonly artifactUri?: string | undefined;
  /** Number of processes (ranks) or pods whose logs can be read. */
  readonly ranks: number;
  readonly object?: { apiVersion: string; kind: string; name: string; namespace: string } | undefined;
  readonly history: readonly JobTransition[];
}

export interface LaunchRequest {
  /** Deterministic: derived from the causing event id, so a redelivered request finds the existing job. */
  readonly jobId: string;
  readonly spec: TrainingSpec;
  readonly trigger: TriggerRef;
  readonly causeEventId: string;
  readonly traceparent?: string | undefined;
}

export interface JobFilter {
  readonly state?: JobState | undefined;
  readonly model?: string | undefined;
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
}

export interface LogOptions {
  /** Rank (ddp) or 0 for the driver/single process. Default 0. */
  readonly rank?: number | undefined;
  /** Keep streaming until the job ends. */
  readonly follow?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Only the last N lines (then follow, if asked). */
  readonly tail?: number | undefined;
  /** A byte range of the log: start here ... */
  readonly offset?: number | undefined;
  /** ... and read at most this many bytes. */
  readonly limit?: number | undefined;
}

export interface TrainingBackend {
  readonly name: "local" | "kubernetes";
  /** Idempotent on jobId: a second launch returns the existing job with created=false. */
  launch(req: LaunchRequest): Promise<{ job: JobRecord; created: boolean }>;
  get(jobId: string): Promise<JobRecord | undefined>;
  list(filter?: JobFilter): Promise<JobRecord[]>;
  /** Log lines (without trailing newline). With follow, ends when the job ends; a failed launch ends with its error. */
  logs(jobId: string, opts?: LogOptions): AsyncIterable<string>;
  cancel(jobId: string): Promise<JobRecord>;
}

// ---------------------------------------------------------------------------------------------------------------------
// Registry (the read/alias side functions need; the full MLflow client lives in platform/mlflow)

export interface ModelVersionInfo {
  readonly name: string;
  /** MLflow versions are strings. */
  readonly version: string;
  readonly runId: string | undefined;
  readonly source: string;
  readonly status: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly aliases: readonly string[];
  /** epoch ms */
  readonly creationTimestamp: number;
  readonly description?: string | undefined;
}

export interface ModelRegistry {
  getModelVersion(name: string, version: string): Promise<ModelVersionInfo>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo>;
  /** The version behind an alias; undefined when the model (or the alias) does not exist. Read from the model's aliases. */
  findVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo | undefined>;
  searchModelVersions(name: string): Promise<ModelVersionInfo[]>;
  setAlias(name: string, alias: string, version: string): Promise<void>;
  deleteAlias(name: string, alias: string): Promise<void>;
  /** Download the artifacts behind a version's source (runs:/, models:/, mlflow-artifacts:/, file:) into destDir. */
  downloadModel(version: ModelVersionInfo, destDir: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------------------------------------
// Serving

export type DeploymentStatus = EventData<"deployment.ready"> & {
  readonly state: "ready" | "progressing" | "failed";
  readonly conditions: readonly { type: string; status: "True" | "False" | "Unknown"; reason?: string; message?: string }[];
  readonly spec: DeploymentSpec;
  /** epoch ms */
  readonly updatedAt: number;
  /** While a backend-native canary runs (KServe): the registry versions of its stable and candidate arms. */
  readonly canaryVersions?: readonly [stable: string, candidate: string];
};

/** A registry model version resolved for serving. */
export interface ResolvedModel {
  readonly model: string;
  readonly version: string;
  /** Remote URI for cluster backends (s3://, gs://, mlflow-artifacts:/...). */
  readonly storageUri: string;
  /** Local directory holding the files, for the embedded server. */
  readonly localPath?: string | undefined;
  /** MLmodel flavor names, e.g. ["onnx", "python_function"]. */
  readonly flavors: readonly string[];
  readonly signature?: ModelSignature | undefined;
  /** Class labels, when the model ships them (index -> label). */
  readonly labels?: readonly string[] | undefined;
  /** Requirements read from python_env.yaml / conda.yaml / requirements.txt. */
  readonly requirements?: readonly string[] | undefined;
}

export interface ModelSignature {
  readonly inputs: readonly { name: string; type: string; shape?: readonly number[] }[];
  readonly outputs: readonly { name: string; type: string; shape?: readonly number[] }[];
}

export interface ApplyContext {
  /** Deterministic revision, derived from the causing event id. */
  readonly revision: string;
  /** Resolved models by deployment (model-kind) name. */
  readonly models: Readonly<Record<string, ResolvedModel>>;
}

export interface InferenceTarget {
  /** Base URL of a V2 server; infer POSTs to `${url}/v2/models/${model}/infer`. */
  readonly url: string;
  readonly model: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Overrides the infer path, e.g. "/" for a KServe InferenceGraph, which takes requests at its root. */
  readonly inferPath?: string | undefined;
  /** Full URL of the model metadata (GET) when it is not `${url}/v2/models/${model}`, e.g. a KServe graph's first model. */
  readonly metadataUrl?: string | undefined;
}

export interface ServingBackend {
  readonly name: ServingBackendName;
  /** Idempotent: applying the same spec and revision twice changes nothing. Waits for Ready or fails. */
  apply(spec: DeploymentSpec, ctx: ApplyContext): Promise<DeploymentStatus>;
  remove(name: string): Promise<void>;
  get(name: string): Promise<DeploymentStatus | undefined>;
  list(): Promise<DeploymentStatus[]>;
  /** The objects apply() would send, for --dry-run and golden tests. */
  render(spec: DeploymentSpec, ctx: ApplyContext): Record<string, unknown>[];
  target(name: string): Promise<InferenceTarget>;
}

// ---------------------------------------------------------------------------------------------------------------------
// Drift

export interface DriftObservation {
  readonly model: string;
  readonly version: string;
  /** Feature name -> values in this request (numeric features). */
  readonly features: Readonly<Record<string, readonly number[]>>;
  /** Predicted labels or class indices, for prediction drift. */
  readonly predictions: readonly (string | number)[];
}

/** Fed by infer. observe() must return at once: scoring happens off the request's critical path. */
export interface DriftObserver {
  observe(obs: DriftObservation): void;
}
