// Embedded mode's functions: each one's handler and deps, as the in-process routes the broker delivers to.
import path from "node:path";
import type { Hono } from "hono";
import type { Registry } from "prom-client";
import type { Config } from "../config/index.ts";
import type { DriftCounters, DriftMonitor } from "../drift/index.ts";
import { fanOut } from "../drift/index.ts";
import { deadLetter, deadLetterCounter } from "../eventing/dead-letter.ts";
import { cloudEventRoute } from "../fn/hono.ts";
import { FUNCTION_TARGETS, TARGETS } from "../knative/targets.ts";
import type { EmbeddedBroker } from "../local/broker/index.ts";
import type { Logger } from "../log.ts";
import type { MlflowClient } from "../mlflow/index.ts";
import type { Policies } from "../policies/index.ts";
import type { EventBus, ModelRegistry } from "../ports.ts";
import type { LocalServingBackend } from "../serving/local/backend.ts";
import type { EmbeddedV2Server } from "../serving/local/server.ts";
import type { StateStore } from "../state/index.ts";
import { createFunctionMetrics, type InvocationOutcome } from "../telemetry/metrics.ts";
import { PrometheusHttpClient } from "../telemetry/prometheus.ts";
import type { LocalTrainingBackend } from "../training/local/backend.ts";
import { FileDataWindows } from "../datasets/window.ts";
import { backendActiveJobs, registeredWindows } from "../datasets/window-use.ts";
import { createLaunchTraining } from "../../functions/launch-training/deps.ts";
import { launchTraining } from "../../functions/launch-training/handler.ts";
import { createLogModelDeps } from "../../functions/log-model/deps.ts";
import { logModelHandler } from "../../functions/log-model/handler.ts";
import { createRetrainDeps } from "../../functions/retrain-on-drift/deps.ts";
import { StateRetrainStore } from "../../functions/retrain-on-drift/store.ts";
import { retrainOnDrift } from "../../functions/retrain-on-drift/handler.ts";
import { createDeployModelDeps } from "../../functions/deploy-model/deps.ts";
import { importCanaryFile, StateCanaryStore } from "../../functions/deploy-model/canary-store.ts";
import { localCanaryStats } from "../../functions/deploy-model/rollout.ts";
import { PrometheusCanaryStats } from "../../functions/deploy-model/prometheus-stats.ts";
import { deployModelHandler } from "../../functions/deploy-model/handler.ts";
import { ModelInfoCache } from "../../functions/infer/model-info.ts";
import { createCandidateMetrics } from "../../functions/infer/candidates.ts";
import { httpV2Client } from "../../functions/infer/client.ts";
import { embeddedV2Client } from "../../functions/infer/embedded-client.ts";
import { inferHandler } from "../../functions/infer/handler.ts";
import type { InferenceLogging } from "./inference-log.ts";

export interface EmbeddedFunctionsOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly now: () => number;
  readonly selfUrl: string;
  readonly inProcessFetch: typeof fetch;
  readonly metrics: Registry;
  readonly policies: Policies;
  readonly state: StateStore;
  readonly bus: EventBus;
  readonly broker: EmbeddedBroker;
  readonly mlflow: MlflowClient;
  readonly registry: ModelRegistry;
  readonly training: LocalTrainingBackend;
  readonly serving: LocalServingBackend;
  readonly v2: EmbeddedV2Server;
  readonly drift: DriftMonitor;
  readonly driftCounters: DriftCounters;
  readonly logging: InferenceLogging;
}

/**
 * Fills `services` (the broker delivers to it by Knative Service name) and returns the deps the app's routes share
 * with the functions: deploy-model's (canary loop, deployments API) and infer's (POST /infer, the playground).
 */
export async function createEmbeddedFunctions(o: EmbeddedFunctionsOptions, services: Record<string, Hono>) {
  const { config, now, bus, registry, serving, logging, metrics } = o;
  const fnLog = (name: string): Logger => o.log.child({ function: name });
  const retention = {
    keep: config.inferenceLog.windowDatasetsKeep,
    log: fnLog("launch-training"),
    now,
    use: { activeJobs: backendActiveJobs(o.training), registered: registeredWindows((m) => registry.searchModelVersions(m)) },
  };
  const windows = new FileDataWindows({ store: logging.store, dir: path.join(config.inferenceLog.dir, "datasets"), retention });
  // Same series as a Knative function process (function = its FUNCTION_TARGET), so one dashboard serves both modes.
  const fnMetrics = createFunctionMetrics(metrics);
  const targetOf = new Map(FUNCTION_TARGETS.map((t) => [TARGETS[t].service, t]));
  const fnTelemetry = { metrics: { ...fnMetrics, observe: (fn: string, outcome: InvocationOutcome, seconds: number) => fnMetrics.observe(targetOf.get(fn) ?? fn, outcome, seconds) } };
  services["launch-training"] = cloudEventRoute("launch-training", launchTraining, createLaunchTraining({ bus, backend: o.training, log: fnLog("launch-training"), now, windows }), fnTelemetry);
  services["log-model"] = cloudEventRoute("log-model", logModelHandler, createLogModelDeps({ bus, log: fnLog("log-model"), now, mlflow: o.mlflow, policies: o.policies, onnx: config.serving.onnx }), fnTelemetry);
  services["retrain-on-drift"] = cloudEventRoute(
    "retrain-on-drift",
    retrainOnDrift,
    createRetrainDeps({ bus, registry, log: fnLog("retrain-on-drift"), policies: o.policies, store: new StateRetrainStore(o.state), now, metrics, labelledSince: (m, since) => logging.store.labelledSince(m, since) }),
    fnTelemetry,
  );
  const backends = { local: serving } as const;
  const canaries = new StateCanaryStore(o.state);
  await importCanaryFile(path.join(config.dataDir, "deployments"), canaries);
  const deployDeps = createDeployModelDeps({
    canaries,
    bus,
    log: fnLog("deploy-model"),
    now,
    registry,
    backends,
    defaultBackend: "local",
    policies: o.policies,
    workDir: path.join(config.dataDir, "deployments"),
    // Prometheus when configured (the same numbers a cluster decides on); else the router's in-process tallies.
    canaryStats: config.prometheus
      ? new PrometheusCanaryStats({ prometheus: new PrometheusHttpClient(config.prometheus), flavour: "infer" })
      : localCanaryStats(serving),
  });
  services["deploy-model"] = cloudEventRoute("deploy-model", deployModelHandler, deployDeps, fnTelemetry);
  // infer calls the embedded V2 server directly (same answers, errors and metrics as its route, no request through the
  // app); a target elsewhere still goes through the app in-process.
  const inferDeps = {
    inferenceLog: logging.logger,
    backend: serving,
    client: embeddedV2Client({ server: o.v2, baseUrl: o.selfUrl, fallback: httpV2Client((url, init) => o.inProcessFetch(url, init)) }),
    registry,
    drift: fanOut(o.drift, o.driftCounters),
    candidates: createCandidateMetrics(metrics),
    llm: config.llm,
    maxRows: config.infer.maxRows,
    log: fnLog("infer"),
  };
  services.infer = cloudEventRoute("infer", inferHandler, { ...inferDeps, bus, now, cache: new ModelInfoCache(), feedback: logging.feedback, logStore: logging.store }, fnTelemetry);
  services["dead-letter"] = cloudEventRoute("dead-letter", deadLetter, { bus, log: fnLog("dead-letter"), now, store: o.broker.deadLetterStore, deadLetters: deadLetterCounter(metrics) }, fnTelemetry);
  return { backends, deployDeps, inferDeps };
}
