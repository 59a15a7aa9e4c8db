// Public surface of infer, and its Knative entry (FUNCTION_TARGET=infer): an HTTP function (records, CSV, V2, text)
// that also accepts inference.requested CloudEvents (binary or structured) on the same endpoint.
import * as ff from "@google-cloud/functions-framework";
import { Hono } from "hono";
import { registryBaselineLoader } from "../../platform/app/baseline.ts";
import { HttpEventBus } from "../../platform/bus/http.ts";
import { parseConfig } from "../../platform/config/index.ts";
import { ConfigError } from "../../platform/errors.ts";
import { cloudEventRoute } from "../../platform/fn/hono.ts";
import { DriftCounters } from "../../platform/drift/counters.ts";
import { functionRegistry } from "../../platform/knative/registry.ts";
import { createLogger } from "../../platform/log.ts";
import { MlflowModelRegistry } from "../../platform/mlflow/index.ts";
import { CloudEventLogSink, FileInferenceLog, InferenceLogger, LiveAccuracy, PrometheusAccuracy, requestIds } from "../../platform/inference-log/index.ts";
import { PrometheusHttpClient } from "../../platform/telemetry/prometheus.ts";
import { loadPolicies } from "../../platform/policies/index.ts";
import { feedbackRoutes } from "../feedback/routes.ts";
import { clusterServingBackend } from "../../platform/serving/cluster.ts";
import { createCandidateMetrics } from "./candidates.ts";
import { httpV2Client } from "./client.ts";
import { inferHandler, type InferEventDeps } from "./handler.ts";
import { ModelInfoCache } from "./model-info.ts";
import { inferRoutes } from "./routes.ts";

export { inferRoutes, MAX_INFER_BODY } from "./routes.ts";
export { inferHandler, type InferEventDeps } from "./handler.ts";
export { inferDeployment, type InferResult } from "./core.ts";
export { deploymentsApi, parseSpecs, type DeploymentsApiDeps } from "./deployments-api.ts";
export { httpV2Client, type FetchLike, type V2Client } from "./client.ts";
export { embeddedV2Client } from "./embedded-client.ts";
export { answeringCandidate, CANDIDATE_DURATION_METRIC, CANDIDATE_REQUESTS_METRIC, createCandidateMetrics, type CandidateMetrics } from "./candidates.ts";
export { parseNaturalLanguage, normalise } from "./nl.ts";
export { extractWithLlm, featureSchema, type LlmConfig } from "./llm.ts";
export { buildRequest, featureNames, InputMismatchError, type ModelInfo } from "./build.ts";
export { decodeOutputs, predictedClasses } from "./decode.ts";
export { parseBody, parseCsv, parseCsvPaced, readInput, fromJson, type InferInput } from "./input.ts";
export { DEFAULT_MAX_ROWS } from "./pace.ts";
export { ModelInfoCache } from "./model-info.ts";
export type { InferDeps } from "./deps.ts";

export const FUNCTION_TARGET = "infer";

/**
 * Deps from the environment, for the Knative Service: the cluster backend, MLflow for lineage tags and drift baselines,
 * the broker. Drift is counted here and computed by Prometheus' rules over every replica (platform/telemetry/rules.ts).
 */
export async function inferDepsFromEnv(env: Record<string, string | undefined> = process.env): Promise<InferEventDeps> {
  const config = parseConfig(env);
  if (config.serving.backend === "local") throw new ConfigError(["FLYWHEEL_SERVING_BACKEND: seldon or kserve in Knative mode"]);
  if (!config.knative.brokerUrl) throw new ConfigError(["K_SINK or FLYWHEEL_BROKER_URL: required for infer in Knative mode"]);
  const log = createLogger(config.logLevel, { function: "infer" });
  const registry = config.registry.trackingUri
    ? MlflowModelRegistry.fromConfig(config, config.registry.trackingUri)
    : undefined;
  const metrics = functionRegistry(FUNCTION_TARGET, config);
  const bus = new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token });
  // Every replica must verify every other replica's ids: the signing key comes from the (shared) Secret, never a pod.
  const secret = config.inferenceLog.secret;
  const policies = loadPolicies(config.files.policies);
  const ids = secret ? requestIds(secret) : undefined;
  // Sampled records leave as KServe-convention CloudEvents; the sink (this same function, via a Trigger, on whichever
  // replica it lands) writes them into the day-partitioned log under FLYWHEEL_INFERENCE_LOG_DIR: a ReadWriteMany volume
  // every replica mounts (manifests), so feedback joins on any replica and live accuracy reads every replica's labels.
  const store = new FileInferenceLog(config.inferenceLog.dir);
  const sink = new CloudEventLogSink({ bus, namespace: config.kubernetes.namespace, source: `/apis/v1/namespaces/${config.kubernetes.namespace}/services/infer` });
  const inferenceLog = ids && secret ? new InferenceLogger({ ids, sink, policyFor: (d) => policies.loggingFor(d), hashKey: secret, log, now: Date.now }) : undefined;
  if (!ids) log.warn("infer: FLYWHEEL_REQUEST_ID_SECRET is not set; answers carry no request id and feedback is off");
  return {
    backend: await clusterServingBackend(config.serving.backend, config.kubernetes.namespace, log),
    client: httpV2Client(),
    registry,
    candidates: createCandidateMetrics(metrics),
    drift: registry ? new DriftCounters({ registry: metrics, loadBaseline: registryBaselineLoader(registry, registry.client), log: log.child({ component: "drift" }) }) : undefined,
    llm: config.llm,
    maxRows: config.infer.maxRows,
    log,
    bus,
    now: Date.now,
    cache: new ModelInfoCache(),
    inferenceLog,
    logStore: store,
    feedback: ids
      ? {
          bus, log, now: Date.now, store, ids, accuracy: new LiveAccuracy(metrics, undefined, { store, now: Date.now }), policies, registry,
          // Feedback lands on any replica: the rollback policy compares every replica's labels, summed by Prometheus.
          accuracySource: config.prometheus ? new PrometheusAccuracy({ prometheus: new PrometheusHttpClient(config.prometheus) }) : undefined,
        }
      : undefined,
  };
}

/** One hono app: CloudEvents (ce-specversion header or structured content type) go to the handler, the rest to infer. */
export function knativeInferApp(deps: InferEventDeps): Hono {
  const events = cloudEventRoute("infer", inferHandler, deps);
  const http = inferRoutes(deps);
  const app = new Hono();
  // Feedback over HTTP too; the function's ingress (Knative auth) guards it like the rest of the service.
  if (deps.feedback) app.route("/feedback", feedbackRoutes(deps.feedback));
  app.post("/:deployment?", async (c) => {
    const isEvent = Boolean(c.req.header("ce-specversion")) || (c.req.header("content-type") ?? "").startsWith("application/cloudevents");
    if (isEvent) return events.fetch(new Request(new URL("/", c.req.url), c.req.raw));
    return http.fetch(c.req.raw);
  });
  return app;
}

let app: Promise<Hono> | undefined;
ff.http(FUNCTION_TARGET, async (req, res) => {
  app ??= inferDepsFromEnv().then(knativeInferApp);
  const a = await app;
  const url = new URL(req.url ?? "/", "http://function.local");
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.isBuffer(req.rawBody) ? new Uint8Array(req.rawBody) : JSON.stringify(req.body ?? {});
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
  const out = await a.fetch(new Request(url, { method: req.method, headers, ...(body !== undefined ? { body } : {}) }));
  res.status(out.status);
  out.headers.forEach((v, k) => res.setHeader(k, v));
  res.send(Buffer.from(await out.arrayBuffer()));
});
