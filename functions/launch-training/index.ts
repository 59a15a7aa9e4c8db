// launch-training's public surface; registers FUNCTION_TARGET=launchTraining with functions-framework on import.
import { HttpEventBus } from "../../platform/bus/http.ts";
import { parseConfig, type Env } from "../../platform/config/index.ts";
import { FileDataWindows } from "../../platform/datasets/window.ts";
import { clusterActiveJobs, registeredWindows } from "../../platform/datasets/window-use.ts";
import { ConfigError } from "../../platform/errors.ts";
import { FileInferenceLog } from "../../platform/inference-log/store.ts";
import { registerCloudEvent } from "../../platform/fn/framework.ts";
import { createLogger } from "../../platform/log.ts";
import { once } from "../../platform/once.ts";
import { trainingEventsFromBackend } from "../../platform/training/events.ts";
import { KubernetesTrainingBackend } from "../../platform/training/kubernetes/backend.ts";
import { createLaunchTraining, type LaunchTrainingDeps } from "./deps.ts";
import { launchTraining } from "./handler.ts";

export { launchTraining } from "./handler.ts";
export { createLaunchTraining } from "./deps.ts";
export type { LaunchTrainingDeps, LaunchTrainingOptions } from "./deps.ts";
export { trainingEventsFromBackend, trainingEventFor, TRAINING_EVENT_SOURCE } from "../../platform/training/events.ts";
export { jobIdFor } from "../../platform/training/updates.ts";

export const FUNCTION_TARGET = "launchTraining";

/**
 * Knative deps: training runs on Kubernetes (the in-cluster ServiceAccount), events go to the broker ingress. Status
 * comes back through the ApiServerSource trigger (triggers/kubernetes), so this scaled-to-zero function does not watch;
 * only a launch-time failure (object refused) is reported from here. A spec's dataWindow is read from the shared
 * inference-log volume (FLYWHEEL_INFERENCE_LOG_DIR) and written as a CSV under FLYWHEEL_WINDOW_DATASETS_DIR, which the
 * job mounts at the same path (the artifacts PVC), so the file:// location in its env is valid inside the job.
 * Retention (FLYWHEEL_WINDOW_DATASETS_KEEP) asks the cluster which trainings are left and MLflow what versions name:
 * without MLFLOW_TRACKING_URI it cannot tell, so it keeps every window.
 */
export function launchTrainingDepsFromEnv(env: Env): LaunchTrainingDeps {
  const config = parseConfig(env);
  if (!config.knative.brokerUrl) throw new ConfigError(["K_SINK or FLYWHEEL_BROKER_URL: required to emit events"]);
  const log = createLogger(config.logLevel, { function: FUNCTION_TARGET });
  const bus = new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token });
  const backend = KubernetesTrainingBackend.fromConfig(config, { env, log, onUpdate: trainingEventsFromBackend({ bus, log }), watch: false });
  const { shared, windowDatasets } = config.inferenceLog;
  const trackingUri = config.registry.trackingUri;
  const keep = trackingUri ? config.inferenceLog.windowDatasetsKeep : 0;
  // The MLflow client is loaded on the first pruning, not at start-up (most cold starts launch without a window).
  const registry = once(async () => (await import("../../platform/mlflow/index.ts")).MlflowModelRegistry.fromConfig(config, trackingUri ?? ""));
  const search = async (model: string) => (await registry()).searchModelVersions(model);
  const retention = { keep, log, now: Date.now, use: { activeJobs: clusterActiveJobs(backend.client, backend.kinds()), registered: registeredWindows(search) } };
  const windows = shared && windowDatasets ? new FileDataWindows({ store: new FileInferenceLog(shared), dir: windowDatasets, retention }) : undefined;
  if (windows && keep === 0) log.info("window datasets are kept (not pruned)", { reason: trackingUri ? "FLYWHEEL_WINDOW_DATASETS_KEEP=0" : "no MLFLOW_TRACKING_URI to read lineage from" });
  return createLaunchTraining({ bus, backend, log, status: backend, windows });
}

registerCloudEvent(FUNCTION_TARGET, launchTraining, () => launchTrainingDepsFromEnv(process.env));
