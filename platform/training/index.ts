// Public surface of training: the two backends, the status callback and its events, the job API, the spec parser.
export { LocalTrainingBackend } from "./local/backend.ts";
export type { LocalTrainingBackendOptions } from "./local/backend.ts";
export { SPARK_INSTALL_HINT } from "./local/command.ts";
export { KubernetesTrainingBackend } from "./kubernetes/backend.ts";
export type { KubernetesTrainingBackendOptions } from "./kubernetes/backend.ts";
export { loadKubeConfig } from "./kubernetes/client.ts";
export { renderTrainingObject, kindFor } from "./kubernetes/render.ts";
export type { RenderOptions } from "./kubernetes/render.ts";
export { mapTrainingStatus, SPARK_STATES, FATAL_WAITING_REASONS } from "./kubernetes/status.ts";
export type { StatusVerdict } from "./kubernetes/status.ts";
export { TRAINING_RBAC, trainingRole } from "./kubernetes/rbac.ts";
export type { RbacRule } from "./kubernetes/rbac.ts";
export { jobIdFor } from "./updates.ts";
export type { JobListener, JobUpdate } from "./updates.ts";
export { trainingEventFor, trainingEventsFromBackend, readOutputs, TRAINING_EVENT_SOURCE } from "./events.ts";
export { jobsApi, jobSummary, JOBS_API_SOURCE } from "./jobs-api.ts";
export type { JobsApiOptions } from "./jobs-api.ts";
export { parseTrainingSpec, parseTrainingSpecText } from "./spec.ts";
