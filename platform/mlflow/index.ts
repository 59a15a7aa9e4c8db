// Public surface of the MLflow client package.
export { MlflowClient, ARTIFACT_SCHEME, LOGGED_MODEL_STATUSES, proxyPathOf, type LoggedModelStatus } from "./client.ts";
export { MlflowModelRegistry, toVersionInfo } from "./model-registry.ts";
export { BATCH_LIMITS, VIEW_TYPES, chunkBatch, paginate, type DatasetInput, type KeyValue, type MetricInput, type SearchOptions, type ViewType } from "./tracking.ts";
export type { CreateVersionOptions } from "./registry-api.ts";
export { fetchWithCa, type FetchLike, type MlflowClientOptions, type RetryOptions } from "./transport.ts";
export * from "./errors.ts";
export {
  RUN_STATUSES, quote, ident, tagsOf,
  type Experiment, type FileInfo, type LoggedModel, type Metric, type ModelVersion, type Page, type RegisteredModel, type Run, type RunInfo, type RunStatus,
} from "./schemas.ts";
