// Kubernetes job-status trigger: ApiServerSource events -> training events (served by the launch-training function).
export { APISERVER_EVENT_TYPES, isApiServerEvent, kubernetesStatusTrigger } from "./status.ts";
export type { KubernetesStatusDeps, StatusSource } from "./status.ts";
export { trainingStatusSource } from "./source.ts";
export type { ApiServerSourceOptions } from "./source.ts";
