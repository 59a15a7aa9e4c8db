// Picks the training backend the configuration asks for (FLYWHEEL_TRAINING_BACKEND), wired to a status listener.
import type { Config } from "../config/index.ts";
import type { Logger } from "../log.ts";
import { KubernetesTrainingBackend } from "./kubernetes/backend.ts";
import { LocalTrainingBackend } from "./local/backend.ts";
import type { JobCredentials } from "./local/env.ts";
import type { JobListener } from "./updates.ts";

export interface TrainingBackendDeps {
  readonly log: Logger;
  readonly onUpdate: JobListener;
  /** Environment for child processes (local) and for finding the kubeconfig (kubernetes). */
  readonly env: Record<string, string | undefined>;
  /** The embedded registry's URL (this process), when MLFLOW_TRACKING_URI is not set. */
  readonly registryUrl?: string | undefined;
  /** Issues each job its own embedded-registry token (MLFLOW_TRACKING_TOKEN); unused with an external MLflow. */
  readonly jobTokens?: JobCredentials | undefined;
  /** Working directory for local commands (default: the process's cwd). */
  readonly workdir?: string | undefined;
}

/** Embedded mode: local child processes, or Kubernetes objects followed by a watch. */
export function createTrainingBackend(config: Config, d: TrainingBackendDeps): LocalTrainingBackend | KubernetesTrainingBackend {
  if (config.training.backend === "kubernetes") {
    return KubernetesTrainingBackend.fromConfig(config, { env: d.env, log: d.log, onUpdate: d.onUpdate, watch: true, trackingUri: config.registry.trackingUri ?? d.registryUrl });
  }
  return LocalTrainingBackend.fromConfig(config, { log: d.log, onUpdate: d.onUpdate, env: d.env, registryUrl: d.registryUrl, jobTokens: d.jobTokens, ...(d.workdir ? { workdir: d.workdir } : {}) });
}
