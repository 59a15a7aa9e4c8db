// retrain-on-drift's public surface; registers FUNCTION_TARGET=retrainOnDrift with functions-framework on import.
import { HttpEventBus } from "../../platform/bus/http.ts";
import { parseConfig, type Env } from "../../platform/config/index.ts";
import { ConfigError } from "../../platform/errors.ts";
import { registerCloudEvent } from "../../platform/fn/framework.ts";
import { functionRegistry } from "../../platform/knative/registry.ts";
import { createLogger } from "../../platform/log.ts";
import { MlflowModelRegistry } from "../../platform/mlflow/index.ts";
import { loadPolicies } from "../../platform/policies/index.ts";
import { createRetrainDeps, type RetrainDeps } from "./deps.ts";
import { retrainOnDrift } from "./handler.ts";

export { retrainOnDrift } from "./handler.ts";
export { createRetrainDeps, RETRAIN_SOURCE } from "./deps.ts";
export type { RetrainDeps, RetrainDepsOptions } from "./deps.ts";
export { MemoryRetrainStore, SqliteRetrainStore } from "./store.ts";
export type { DecisionRecord, RetrainStore, TrainingRecord } from "./store.ts";
export { checkGuards, SKIP_REASONS } from "./guards.ts";
export type { GuardVerdict, SkipReason } from "./guards.ts";
export { championSpec, requestedData } from "./lineage.ts";

export const FUNCTION_TARGET = "retrainOnDrift";

/**
 * Knative deps from the environment: broker ingress (K_SINK / FLYWHEEL_BROKER_URL), MLflow (MLFLOW_TRACKING_URI),
 * policies (FLYWHEEL_POLICIES_FILE), state in SQLite under FLYWHEEL_DATA_DIR (mount a volume and keep max-scale 1 so
 * the guards see every decision).
 */
export function retrainDepsFromEnv(env: Env): RetrainDeps {
  const config = parseConfig(env);
  const problems: string[] = [];
  if (!config.knative.brokerUrl) problems.push("K_SINK or FLYWHEEL_BROKER_URL: required to emit events");
  if (!config.registry.trackingUri) problems.push("MLFLOW_TRACKING_URI: required to read the champion's lineage");
  if (!config.knative.brokerUrl || !config.registry.trackingUri) throw new ConfigError(problems);
  return createRetrainDeps({
    bus: new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token }),
    registry: MlflowModelRegistry.fromConfig(config, config.registry.trackingUri),
    log: createLogger(config.logLevel, { function: FUNCTION_TARGET }),
    policies: loadPolicies(config.files.policies),
    dataDir: config.dataDir,
    metrics: functionRegistry(FUNCTION_TARGET, config),
  });
}

registerCloudEvent(FUNCTION_TARGET, retrainOnDrift, () => retrainDepsFromEnv(process.env));
