// retrain-on-drift's public surface; registers FUNCTION_TARGET=retrainOnDrift with functions-framework on import.
import { HttpEventBus } from "../../platform/bus/http.ts";
import { parseConfig, type Env } from "../../platform/config/index.ts";
import { ConfigError } from "../../platform/errors.ts";
import { registerCloudEvent } from "../../platform/fn/framework.ts";
import { FileInferenceLog } from "../../platform/inference-log/store.ts";
import { functionRegistry } from "../../platform/knative/registry.ts";
import { createLogger } from "../../platform/log.ts";
import { MlflowModelRegistry } from "../../platform/mlflow/index.ts";
import { loadPolicies } from "../../platform/policies/index.ts";
import { openPostgresState } from "../../platform/state/index.ts";
import { createRetrainDeps, type RetrainDeps } from "./deps.ts";
import { StateRetrainStore } from "./store.ts";
import { retrainOnDrift } from "./handler.ts";

export { retrainOnDrift } from "./handler.ts";
export { createRetrainDeps, RETRAIN_SOURCE } from "./deps.ts";
export type { RetrainDeps, RetrainDepsOptions } from "./deps.ts";
export { MemoryRetrainStore, StateRetrainStore } from "./store.ts";
export type { Decided, DecisionRecord, Proposal, RetrainStore, TrainingRecord } from "./store.ts";
export { checkGuards, SKIP_REASONS } from "./guards.ts";
export type { GuardVerdict, SkipReason } from "./guards.ts";
export { championSpec, requestedData } from "./lineage.ts";

export const FUNCTION_TARGET = "retrainOnDrift";

/**
 * Knative deps from the environment: broker ingress (K_SINK / FLYWHEEL_BROKER_URL), MLflow (MLFLOW_TRACKING_URI),
 * policies (FLYWHEEL_POLICIES_FILE), and decisions and guards in PostgreSQL (FLYWHEEL_DATABASE_URL), shared by every
 * replica: nothing is kept in the pod. With FLYWHEEL_INFERENCE_LOG_DIR (the shared inference-log volume, read-only
 * here) the new-data policy counts labelled feedback there; without it no labels are visible, so it cannot skip.
 */
export async function retrainDepsFromEnv(env: Env): Promise<RetrainDeps> {
  const config = parseConfig(env);
  // Policies first: a bad file fails before any backend is touched. The build's warm-up (stand-in backends) runs the YAML
  // and policy parsing, which the code cache keeps for the first event of every cold start.
  const policies = loadPolicies(config.files.policies);
  const problems: string[] = [];
  if (!config.knative.brokerUrl) problems.push("K_SINK or FLYWHEEL_BROKER_URL: required to emit events");
  if (!config.registry.trackingUri) problems.push("MLFLOW_TRACKING_URI: required to read the champion's lineage");
  if (!config.state.databaseUrl) problems.push("FLYWHEEL_DATABASE_URL: required, replicas share their decisions and guards there");
  if (!config.knative.brokerUrl || !config.registry.trackingUri || !config.state.databaseUrl) throw new ConfigError(problems);
  const state = await openPostgresState(config.state.databaseUrl);
  const shared = config.inferenceLog.shared;
  const labels = shared ? new FileInferenceLog(shared) : undefined;
  return createRetrainDeps({
    bus: new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token }),
    registry: MlflowModelRegistry.fromConfig(config, config.registry.trackingUri),
    log: createLogger(config.logLevel, { function: FUNCTION_TARGET }),
    policies,
    store: new StateRetrainStore(state, { owns: true }),
    metrics: functionRegistry(FUNCTION_TARGET, config),
    labelledSince: labels ? (model, since) => labels.labelledSince(model, since) : undefined,
  });
}

registerCloudEvent(FUNCTION_TARGET, retrainOnDrift, () => retrainDepsFromEnv(process.env));
