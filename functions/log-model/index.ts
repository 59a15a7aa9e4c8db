// log-model's public surface for embedded wiring; registers FUNCTION_TARGET=logModel with functions-framework on import.
import { parseConfig } from "../../platform/config/index.ts";
import { HttpEventBus } from "../../platform/bus/http.ts";
import { ConfigError } from "../../platform/errors.ts";
import { registerCloudEvent } from "../../platform/fn/framework.ts";
import { createLogger } from "../../platform/log.ts";
import { MlflowClient } from "../../platform/mlflow/index.ts";
import { loadPolicies } from "../../platform/policies/index.ts";
import { openPostgresState, StateKeyedLock } from "../../platform/state/index.ts";
import { createLogModelDeps, type LogModelDeps } from "./deps.ts";
import { logModelHandler } from "./handler.ts";

export { logModelHandler } from "./handler.ts";
export { createLogModelDeps, KeyedLock, type LogModelDeps, type LogModelDepsInput } from "./deps.ts";
export { evaluateGate, type GateDecision, type GateResult } from "./gate.ts";
export { PROMOTION_EVENT_TAG } from "./promote.ts";

export const FUNCTION_TARGET = "logModel";

/**
 * Deps from the environment, for the Knative Service (FUNCTION_TARGET=logModel). The champion moves under a per-model
 * lock in PostgreSQL (FLYWHEEL_DATABASE_URL), so two replicas gating candidates of one model take turns.
 */
export async function logModelDepsFromEnv(env: Record<string, string | undefined> = process.env): Promise<LogModelDeps> {
  const config = parseConfig(env);
  // Policies first: a bad file fails before any backend is touched. The build's warm-up (stand-in backends) runs the YAML
  // and policy parsing, which the code cache keeps for the first event of every cold start.
  const policies = loadPolicies(config.files.policies);
  if (!config.registry.trackingUri) throw new ConfigError(["MLFLOW_TRACKING_URI: required for log-model in Knative mode"]);
  if (!config.knative.brokerUrl) throw new ConfigError(["K_SINK or FLYWHEEL_BROKER_URL: required for log-model in Knative mode"]);
  if (!config.state.databaseUrl) throw new ConfigError(["FLYWHEEL_DATABASE_URL: required, replicas take the champion's lock there"]);
  const state = await openPostgresState(config.state.databaseUrl);
  return createLogModelDeps({
    locks: new StateKeyedLock(state, { shared: (key) => key.startsWith("model:") }),
    bus: new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token }),
    log: createLogger(config.logLevel, { function: "log-model" }),
    now: Date.now,
    mlflow: MlflowClient.fromConfig(config, config.registry.trackingUri),
    policies,
    artifactsPvcDir: config.registry.artifactsPvcDir,
    onnx: config.serving.onnx,
  });
}

/** Register FUNCTION_TARGET=logModel with functions-framework; deps are built on the first event. */
export function registerLogModel(deps: () => LogModelDeps | Promise<LogModelDeps> = () => logModelDepsFromEnv()): void {
  registerCloudEvent(FUNCTION_TARGET, logModelHandler, deps);
}

registerLogModel();
