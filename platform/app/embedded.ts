// The composition root of embedded mode: every component in one process, wired through the same ports as Knative.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { createAuth, type Auth } from "../auth/index.ts";
import type { Config } from "../config/index.ts";
import { DriftCounters, DriftMonitor, StateDriftHistory } from "../drift/index.ts";
import { DEFAULT_TRIGGERS_FILE, loadTriggerFile } from "../eventing/triggers.ts";
import { toHttpError } from "../errors.ts";
import { createDeliver, EmbeddedBroker } from "../local/broker/index.ts";
import { errorFields, type Logger } from "../log.ts";
import { createMetricsRegistry } from "../metrics.ts";
import type { MlflowClient } from "../mlflow/index.ts";
import { loadPolicies } from "../policies/index.ts";
import type { EventBus, ModelRegistry } from "../ports.ts";
import { LocalServingBackend } from "../serving/local/backend.ts";
import { v2Routes } from "../serving/local/routes.ts";
import { EmbeddedV2Server } from "../serving/local/server.ts";
import { LocalTrainingBackend } from "../training/local/backend.ts";
import { trainingEventsFromBackend } from "../training/events.ts";
import { withTrainingMetrics } from "../training/metrics.ts";
import { alertmanagerRoutes } from "../../triggers/alertmanager/routes.ts";
import { openStateStore } from "../state/index.ts";
import { startCanaryLoop } from "../../functions/deploy-model/rollout.ts";
import { ModelInfoCache } from "../../functions/infer/model-info.ts";
import { renderOnlyBackends } from "../serving/render-only.ts";
import { deploymentsApi } from "../../functions/infer/deployments-api.ts";
import { inferRoutes, parsedAsOf } from "../../functions/infer/routes.ts";
import { readInput } from "../../functions/infer/input.ts";
import { inferDeployment } from "../../functions/infer/core.ts";
import { jobsApi } from "../training/jobs-api.ts";
import { tracedBus } from "../telemetry/index.ts";
import { CronScheduler, loadSchedules } from "../../triggers/cron/index.ts";
import { KafkaBridge } from "../../triggers/kafka/index.ts";
import { schedulesApi } from "./schedules-api.ts";
import { createUi } from "../../pages/index.tsx";
import { uiDepsFrom } from "../../pages/adapters.ts";
import { accessControl, accessRules, anonymousBodyLimit } from "./access.ts";
import { uiInference } from "./ui-inference.ts";
import { registryBaselineLoader } from "./baseline.ts";
import { embeddedChecks } from "./embedded-checks.ts";
import { createEmbeddedFunctions } from "./embedded-functions.ts";
import { createEmbeddedRegistry } from "./embedded-registry.ts";
import { embeddedTraffic } from "./embedded-traffic.ts";
import { eventsApi } from "./events-api.ts";
import { createInferenceLogging } from "./inference-log.ts";
import { feedbackRoutes } from "../../functions/feedback/routes.ts";
import { healthRoutes, type HealthCheck } from "./health.ts";
import { ensurePrivateDir } from "../private-files.ts";

const DEFAULT_SCHEDULES_FILE = fileURLToPath(new URL("../../triggers/cron/schedules.yaml", import.meta.url));

export interface EmbeddedPlatformOptions {
  readonly config: Config;
  /** This process's own base URL (after listen): child processes and the registry client use it. */
  readonly selfUrl: string;
  readonly log: Logger;
  readonly now?: (() => number) | undefined;
}

export interface EmbeddedPlatform {
  readonly app: Hono;
  readonly auth: Auth;
  readonly bus: EventBus;
  readonly broker: EmbeddedBroker;
  readonly training: LocalTrainingBackend;
  readonly serving: LocalServingBackend;
  readonly mlflow: MlflowClient;
  readonly registry: ModelRegistry;
  readonly drift: DriftMonitor;
  readonly checks: readonly HealthCheck[];
  /** The in-process function routes the broker delivers to, by Knative Service name (tests replay events here). */
  readonly functions: Readonly<Record<string, Hono>>;
  /** Start background work (deliveries, restored deployments, schedulers). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function createEmbeddedPlatform(o: EmbeddedPlatformOptions): Promise<EmbeddedPlatform> {
  const { config, log, selfUrl } = o;
  const now = o.now ?? Date.now;
  const dataDir = config.dataDir;
  ensurePrivateDir(dataDir);
  const metrics = createMetricsRegistry({ service: config.knative.service ?? "flywheel" });
  const auth = await createAuth({ config, dataDir, log: log.child({ component: "auth" }) });
  const policies = loadPolicies(config.files.policies);
  // Shared decisions and records (retrain guards, ...): SQLite in the data dir, or PostgreSQL if a DSN is configured.
  const state = await openStateStore(config);

  // The app is built last; the registry client and the broker call into it in-process through this reference.
  const app = new Hono();
  const inProcessFetch: typeof fetch = async (input, init) => app.fetch(new Request(input, init));

  const { server: registryServer, mlflow, registry, external } = createEmbeddedRegistry({ config, auth, selfUrl, log, inProcessFetch });

  const services: Record<string, Hono> = {};
  const triggerFile = loadTriggerFile(config.files.triggers ?? DEFAULT_TRIGGERS_FILE);
  const broker = new EmbeddedBroker({
    dbPath: path.join(dataDir, "broker.sqlite"),
    triggers: triggerFile.triggers,
    deliver: createDeliver({ services }),
    log: log.child({ component: "broker" }),
    metrics,
    namespace: config.kubernetes.namespace,
    now,
  });
  // Every emit is a PRODUCER span whose context rides in the event's traceparent: one trace per cause.
  const bus: EventBus = tracedBus(broker, { destination: triggerFile.broker });

  const training = new LocalTrainingBackend({
    dataDir: path.join(dataDir, "training"),
    // External MLflow: its configured credentials (docs recommend a dedicated MLflow user). Embedded: a token per job,
    // scoped to /api/2.0 and revoked when the job ends — never the admin token.
    registry: external
      ? { trackingUri: external, token: config.registry.token, username: config.registry.username, password: config.registry.password, caBundlePath: config.registry.caBundlePath }
      : { trackingUri: selfUrl, token: undefined },
    jobTokens: external ? undefined : auth.jobTokens,
    cgroup: config.training.cgroup,
    log: log.child({ component: "training" }),
    now,
  });

  const v2 = new EmbeddedV2Server({ registry: metrics, onnx: config.serving.onnx, onnxWorkers: config.serving.onnxWorkers });
  const serving = new LocalServingBackend({ server: v2, stateDir: path.join(dataDir, "serving"), baseUrl: selfUrl, log: log.child({ component: "serving" }), now });
  const loadBaseline = registryBaselineLoader(registry, mlflow);
  // The monitor is the UI's live view; the counters are what Prometheus' rules compute drift from (same as Knative).
  // Its scorings go to the StateStore, so the UI's history chart outlives a restart.
  const driftHistory = new StateDriftHistory(state, { log: log.child({ component: "drift" }), now });
  const drift = new DriftMonitor({ registry: metrics, loadBaseline, log: log.child({ component: "drift" }), now, onScore: (m, v, point) => driftHistory.record(m, v, point) });
  const driftCounters = new DriftCounters({ registry: metrics, loadBaseline, log: log.child({ component: "drift" }), now });

  const logging = await createInferenceLogging({ config, policies, metrics, bus, registry, log: log.child({ function: "feedback" }), now });
  const { backends, deployDeps, inferDeps } = await createEmbeddedFunctions(
    { config, log, now, selfUrl, inProcessFetch, metrics, policies, state, bus, broker, mlflow, registry, training, serving, v2, drift, driftCounters, logging },
    services,
  );
  const rules = accessRules({ protectInference: config.auth.protectInference });
  // The playground calls the V2 server and the infer function directly, as its signed-in user: their role is checked
  // against the same rules as /v2 and /infer (which would refuse an in-process call that carries no credentials).
  const textCache = new ModelInfoCache();
  const ui = uiInference({
    rules,
    v2: inferDeps.client,
    // Read as POST /infer reads a text/plain body (JSON typed in the box still counts as JSON).
    inferText: async (deployment, text) => {
      const input = await readInput("text/plain", text, inferDeps.maxRows);
      return inferDeployment(inferDeps, textCache, deployment, input, parsedAsOf(input, "text/plain"), inferDeps.inferenceLog.issue(deployment));
    },
  });

  const cron = new CronScheduler({
    bus,
    schedules: loadSchedules(config.files.schedules ?? DEFAULT_SCHEDULES_FILE),
    namespace: config.kubernetes.namespace,
    log: log.child({ component: "cron" }),
  });
  const kafka = config.kafka
    ? new KafkaBridge({
        brokers: config.kafka.brokers,
        topic: config.kafka.topic,
        groupId: config.kafka.groupId,
        bus,
        namespace: config.kubernetes.namespace,
        log: log.child({ component: "kafka" }),
        registry: metrics,
      })
    : undefined;

  const checks = embeddedChecks({ broker, training, mlflow, external, token: auth.token, selfUrl, dataDir, inProcessFetch });

  app.onError((e, c) => {
    const { status, body } = toHttpError(e);
    if (status >= 500) log.error("request failed", { path: c.req.path, ...errorFields(e) });
    return c.json(body, status as 500);
  });
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}`, code: "NOT_FOUND" }, 404));
  app.route("/", healthRoutes(() => checks, () => [metrics]));
  app.use("*", auth.middleware);
  // After the caller is known: the UI's inference calls act for them (ui-inference.ts).
  app.use("*", ui.middleware);
  app.use("*", anonymousBodyLimit(rules));
  app.use("*", auth.csrf);
  app.use("*", accessControl(auth, rules));
  app.route("/", auth.routes);
  app.route("/events", broker.routes());
  app.route("/", registryServer.app);
  // V2 answers carry a signed request id too (the model name is the deployment name on the embedded server).
  app.use("/v2/models/:name/*", async (c, next) => {
    await next();
    if (c.req.method === "POST" && !c.res.headers.has("x-request-id")) c.res.headers.set("x-request-id", logging.logger.issue(c.req.param("name")));
  });
  app.route("/v2", v2Routes(v2));
  app.route("/hooks/alertmanager", alertmanagerRoutes({ bus, token: config.alertmanagerToken ?? auth.token ?? "", log: log.child({ component: "alertmanager" }) }));
  app.route("/infer", inferRoutes(inferDeps));
  app.route("/feedback", feedbackRoutes(logging.feedback));
  app.route("/api/v1/inference-logs", logging.api);
  app.route("/api/v1/jobs", jobsApi({ backend: training, bus, log: log.child({ component: "jobs-api" }) }));
  app.route("/api/v1/deployments", deploymentsApi({ bus, log: log.child({ component: "deployments-api" }), now, backends, defaultBackend: "local", registry, renderers: renderOnlyBackends(config.kubernetes.namespace) }));
  app.route("/api/v1/schedules", schedulesApi(cron));
  app.route("/api/v1", eventsApi(broker));
  app.route(
    "/",
    createUi(
      uiDepsFrom({
        auth,
        broker,
        training,
        mlflow,
        registry,
        serving,
        v2: ui.v2,
        // The playground's text box runs the same infer function as POST /infer.
        inferText: ui.inferText,
        drift,
        driftHistory,
        checks,
        traffic: embeddedTraffic({ serving, v2, canaries: deployDeps.canaries }),
        config,
        log,
      }),
    ),
  );

  let started = false;
  let stopCanaries: (() => void) | undefined;
  return {
    app,
    auth,
    bus,
    broker,
    training,
    serving,
    mlflow,
    registry,
    drift,
    checks,
    functions: services,
    async start() {
      if (started) return;
      started = true;
      await broker.start();
      // Status listener only once the broker runs: transitions stored meanwhile are delivered now.
      training.setListener(withTrainingMetrics(trainingEventsFromBackend({ bus, log: log.child({ component: "training" }) }), metrics));
      await serving.restore();
      cron.start();
      // Canary experiments promote or roll back on their own once they have enough traffic or time.
      stopCanaries = startCanaryLoop(deployDeps);
      logging.start();
      // A broker that is down must not keep the platform from starting: the bridge retries on its own.
      kafka?.start().catch((e: unknown) => log.error("kafka bridge failed to start", errorFields(e)));
    },
    async stop() {
      cron.stop();
      stopCanaries?.();
      logging.stop();
      await kafka?.stop();
      drift.close();
      await driftHistory.flush();
      await training.close();
      await broker.stop();
      await v2.close();
      registryServer.close();
      await state.close();
    },
  };
}
