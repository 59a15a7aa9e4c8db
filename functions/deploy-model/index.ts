// Knative entry of deploy-model (FUNCTION_TARGET=deployModel); also the public surface for embedded wiring.
import path from "node:path";
import { HttpEventBus } from "../../platform/bus/http.ts";
import { parseConfig } from "../../platform/config/index.ts";
import { ConfigError } from "../../platform/errors.ts";
import { registerCloudEvent } from "../../platform/fn/framework.ts";
import { createLogger } from "../../platform/log.ts";
import { MlflowClient, MlflowModelRegistry } from "../../platform/mlflow/index.ts";
import { loadPolicies } from "../../platform/policies/index.ts";
import { clusterServingBackend } from "../../platform/serving/cluster.ts";
import { hasNativeCanary } from "../../platform/serving/native-canary.ts";
import { openPostgresState, StateKeyedLock } from "../../platform/state/index.ts";
import { PrometheusHttpClient } from "../../platform/telemetry/prometheus.ts";
import { StateCanaryStore } from "./canary-store.ts";
import { createDeployModelDeps, type DeployModelDeps } from "./deps.ts";
import { PrometheusCanaryStats } from "./prometheus-stats.ts";
import { deployModelHandler } from "./handler.ts";

export { deployModelHandler } from "./handler.ts";
export { createDeployModelDeps, type DeployModelDeps, type DeployModelDepsInput } from "./deps.ts";
export { CanaryStore, StateCanaryStore, importCanaryFile, decide, type CanaryRecords, type CanaryRecord, type CanaryStatsSource, type CandidateStats } from "./canary.ts";
export { canaryTick, finishCanary, revisionOf, candidateName, startCanaryLoop, localCanaryStats } from "./rollout.ts";
export { findVersion, resolveVersion } from "./resolve.ts";
export { PrometheusCanaryStats, type CanaryMetricsFlavour } from "./prometheus-stats.ts";

export const FUNCTION_TARGET = "deployModel";

/**
 * Deps from the environment, for the Knative Service (FUNCTION_TARGET=deployModel): MLflow + Seldon or KServe,
 * Prometheus (FLYWHEEL_PROMETHEUS_URL) for canary statistics, and PostgreSQL (FLYWHEEL_DATABASE_URL) for the running
 * canaries and a per-deployment lock, so a canary one replica started is decided by whichever replica wakes next,
 * exactly once, and survives a scale to zero.
 */
export async function deployModelDepsFromEnv(env: Record<string, string | undefined> = process.env): Promise<DeployModelDeps> {
  const config = parseConfig(env);
  // Policies first: a bad file fails before any backend is touched. The build's warm-up (stand-in backends) runs the YAML
  // and policy parsing, which the code cache keeps for the first event of every cold start.
  const policies = loadPolicies(config.files.policies);
  if (!config.registry.trackingUri) throw new ConfigError(["MLFLOW_TRACKING_URI: required for deploy-model in Knative mode"]);
  if (!config.knative.brokerUrl) throw new ConfigError(["K_SINK or FLYWHEEL_BROKER_URL: required for deploy-model in Knative mode"]);
  if (config.serving.backend === "local") throw new ConfigError(["FLYWHEEL_SERVING_BACKEND: seldon or kserve in Knative mode"]);
  if (!config.state.databaseUrl) throw new ConfigError(["FLYWHEEL_DATABASE_URL: required, replicas share the running canaries there"]);
  const log = createLogger(config.logLevel, { function: "deploy-model" });
  const mlflow = MlflowClient.fromConfig(config, config.registry.trackingUri);
  const backend = await clusterServingBackend(config.serving.backend, config.kubernetes.namespace, log);
  const state = await openPostgresState(config.state.databaseUrl);
  return createDeployModelDeps({
    canaries: new StateCanaryStore(state),
    // Every key (deployment or model name) is held across replicas: a tick, a promotion and a manual request take turns.
    queue: new StateKeyedLock(state, { shared: () => true }),
    bus: new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token }),
    log,
    now: Date.now,
    registry: new MlflowModelRegistry(mlflow),
    backends: { [config.serving.backend]: backend },
    defaultBackend: config.serving.backend,
    policies,
    // Scratch only: model downloads, fetched again by whichever replica needs them.
    workDir: path.join(config.dataDir, "deploy-model"),
    // Without Prometheus a cluster canary has no numbers and waits for a manual promote or rollback.
    canaryStats: config.prometheus
      ? new PrometheusCanaryStats({
          prometheus: new PrometheusHttpClient(config.prometheus),
          // KServe canaries are the InferenceService's own: numbers per revision from Knative's queue-proxy.
          flavour: hasNativeCanary(backend) ? "knative-queue-proxy" : "infer",
          namespace: config.kubernetes.namespace,
          revisions: hasNativeCanary(backend) ? (name) => backend.canary.revisions(name) : undefined,
        })
      : undefined,
  });
}

registerCloudEvent(FUNCTION_TARGET, deployModelHandler, () => deployModelDepsFromEnv());
