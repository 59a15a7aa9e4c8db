// FUNCTION_TARGET=ui: the web UI as its own Knative Service, over the cluster's registry, training and serving.
import { anonymousBodyLimit } from "../platform/app/access.ts";
import { createAuth } from "../platform/auth/index.ts";
import { StateRevocations } from "../platform/auth/revocations.ts";
import { HttpEventBus } from "../platform/bus/http.ts";
import { parseConfig } from "../platform/config/index.ts";
import { ConfigError, toHttpError } from "../platform/errors.ts";
import { registerHonoHttp } from "../platform/fn/http.ts";
import { createLogger, errorFields } from "../platform/log.ts";
import { MlflowClient, MlflowModelRegistry } from "../platform/mlflow/index.ts";
import { clusterServingBackend } from "../platform/serving/cluster.ts";
import { KubernetesTrainingBackend } from "../platform/training/kubernetes/backend.ts";
import { httpV2Client } from "../functions/infer/client.ts";
import { uiDepsFrom } from "./adapters.ts";
import { createUi } from "./index.tsx";
import { Hono } from "hono";
import { accessControl, accessRules } from "../platform/app/access.ts";
import { eventsApi } from "../platform/app/events-api.ts";
import { jobsApi } from "../platform/training/jobs-api.ts";
import { withLoggedFailures } from "../platform/training/logged-failures.ts";
import { knativeEvents } from "../platform/eventing/knative-events.ts";
import { openPostgresState } from "../platform/state/index.ts";
import { knativeServiceChecks } from "../platform/knative/health.ts";
import { TARGETS } from "../platform/knative/targets.ts";
import { PrometheusHttpClient } from "../platform/telemetry/prometheus.ts";
import { StateCanaryStore } from "../functions/deploy-model/canary-store.ts";
import { PrometheusCanaryStats } from "../functions/deploy-model/prometheus-stats.ts";
import { hasNativeCanary } from "../platform/serving/native-canary.ts";
import { prometheusTraffic, TRAFFIC_WITHOUT_PROMETHEUS } from "./deployments/prometheus-traffic.ts";

export const FUNCTION_TARGET = "ui";

/**
 * Every page reads the real systems; events and dead letters come from the shared StateStore (PostgreSQL), where the
 * event-log and dead-letter functions record them, and a replay posts the event back to the Broker ingress.
 */
export async function knativeUi(env: Record<string, string | undefined> = process.env): Promise<Hono> {
  const config = parseConfig(env);
  const problems: string[] = [];
  if (!config.registry.trackingUri) problems.push("MLFLOW_TRACKING_URI: required for the UI in Knative mode");
  if (!config.knative.brokerUrl) problems.push("K_SINK or FLYWHEEL_BROKER_URL: required to request trainings and deployments");
  if (config.serving.backend === "local") problems.push("FLYWHEEL_SERVING_BACKEND: must be seldon or kserve in Knative mode");
  if (!config.state.databaseUrl) problems.push("FLYWHEEL_DATABASE_URL: required for events, dead letters and sessions shared by every replica");
  if (!config.auth.sessionKey) problems.push("FLYWHEEL_SESSION_KEY: required, every UI replica must sign sessions, CSRF tokens and OIDC state with the same key");
  if (problems.length || !config.registry.trackingUri || !config.knative.brokerUrl || config.serving.backend === "local" || !config.state.databaseUrl) throw new ConfigError(problems);
  const state = await openPostgresState(config.state.databaseUrl);
  const log = createLogger(config.logLevel, { function: "ui" });
  const auth = await createAuth({ config, log, revocations: new StateRevocations(state) });
  const mlflow = MlflowClient.fromConfig(config, config.registry.trackingUri);
  const bus = new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token });
  const events = knativeEvents(state, { bus, log, now: Date.now });
  const serving = await clusterServingBackend(config.serving.backend, config.kubernetes.namespace, log, env);
  // The job records live in each process's own store: this replica fills its own from a watch of the training
  // objects and pods (its Role grants get/list/watch), or the jobs pages and API would be empty. It only reads:
  // deadlines stay with launch-training. A training refused at launch has no object for the watch to see: its
  // training.failed event in the shared event log completes the jobs list, pages and API.
  const training = withLoggedFailures(KubernetesTrainingBackend.fromConfig(config, { env, log, watch: true, enforceDeadlines: false }), state);
  const prometheus = config.prometheus ? new PrometheusHttpClient(config.prometheus) : undefined;
  // No process here sees every infer replica's requests: deployment traffic is what Prometheus scraped from all of them.
  const traffic = prometheus
    ? prometheusTraffic({
        stats: new PrometheusCanaryStats({ prometheus, flavour: "infer" }),
        // KServe canaries split traffic inside the InferenceService: per revision, from Knative's queue-proxy.
        nativeCanaryStats: hasNativeCanary(serving)
          ? new PrometheusCanaryStats({ prometheus, flavour: "knative-queue-proxy", namespace: config.kubernetes.namespace, revisions: (name) => serving.canary.revisions(name) })
          : undefined,
        canaries: new StateCanaryStore(state),
      })
    : TRAFFIC_WITHOUT_PROMETHEUS;
  const deps = uiDepsFrom({
    auth,
    broker: { emit: (e) => bus.emit(e), ...events },
    training,
    mlflow,
    registry: new MlflowModelRegistry(mlflow),
    serving,
    v2: httpV2Client(),
    drift: { snapshot: () => undefined },
    // No process here sees all of infer's traffic: the only whole-traffic drift is what Prometheus's rules record.
    driftPrometheus: prometheus ? { prometheus } : undefined,
    driftUnavailable: config.prometheus
      ? undefined
      : "Drift is not shown here: in Knative mode it is computed by Prometheus's recording rules over every infer replica. Set FLYWHEEL_PROMETHEUS_URL (and FLYWHEEL_PROMETHEUS_TOKEN if needed) on the ui Service.",
    checks: [
      { name: "registry", check: async () => ((await mlflow.searchExperiments({ maxResults: 1 })) ? true : "registry not answering") },
      { name: "state store", check: async () => ((await state.db.selectFrom("flywheel_schema").select("version").limit(1).execute()) ? true : "no answer") },
      ...knativeServiceChecks(
        async () => (await import("../platform/training/kubernetes/client.ts")).loadKubeConfig(env),
        config.kubernetes.namespace,
        Object.values(TARGETS).map((t) => t.service),
        Date.now,
        async () => (await import("../platform/serving/kube-rest.ts")).kubeRest({ env }),
      ),
    ],
    traffic,
    config,
    log,
  });
  const app = new Hono();
  // /api/v1's errors (an unknown dead letter, a bad query) answer as in embedded mode: a 4xx naming the problem.
  app.onError((e, c) => {
    const { status, body } = toHttpError(e);
    if (status >= 500) log.error("request failed", { path: c.req.path, ...errorFields(e) });
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  });
  return app
    .use("*", auth.middleware)
    .use("*", anonymousBodyLimit([]))
    .use("*", auth.csrf)
    .use("*", accessControl(auth, accessRules({ protectInference: config.auth.protectInference })))
    .route("/", auth.routes)
    // The CLI's training commands (`flywheel train|jobs|logs|cancel --url <ui>`) use the same API as in embedded mode.
    .route("/api/v1/jobs", jobsApi({ backend: training, bus, log: log.child({ component: "jobs-api" }) }))
    .route("/api/v1", eventsApi(events))
    .route("/", createUi(deps));
}

registerHonoHttp(FUNCTION_TARGET, () => knativeUi());
