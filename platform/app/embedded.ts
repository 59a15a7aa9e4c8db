// The composition root of embedded mode: every component in one process, wired through the same ports as Knative.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { createAuth, type Auth } from "../auth/index.ts";
import type { Config } from "../config/index.ts";
import { DriftCounters, DriftMonitor, fanOut, StateDriftHistory } from "../drift/index.ts";
import { DEFAULT_TRIGGERS_FILE, loadTriggerFile } from "../eventing/triggers.ts";
import { deadLetter, deadLetterCounter } from "../eventing/dead-letter.ts";
import { FUNCTION_TARGETS, TARGETS } from "../knative/targets.ts";
import { createFunctionMetrics, type InvocationOutcome } from "../telemetry/metrics.ts";
import { toHttpError } from "../errors.ts";
import { cloudEventRoute } from "../fn/hono.ts";
import { createDeliver, EmbeddedBroker } from "../local/broker/index.ts";
import { errorFields, type Logger } from "../log.ts";
import { createMetricsRegistry } from "../metrics.ts";
import { MlflowClient, MlflowModelRegistry } from "../mlflow/index.ts";
import { loadPolicies } from "../policies/index.ts";
import type { EventBus, ModelRegistry } from "../ports.ts";
import { createRegistryServer } from "../registry/index.ts";
import { externalRegistryStub } from "../registry/external.ts";
import { LocalServingBackend } from "../serving/local/backend.ts";
import { v2Routes } from "../serving/local/routes.ts";
import { EmbeddedV2Server } from "../serving/local/server.ts";
import { modelTraffic } from "../serving/local/model-stats.ts";
import { LocalTrainingBackend } from "../training/local/backend.ts";
import { trainingEventsFromBackend } from "../training/events.ts";
import { withTrainingMetrics } from "../training/metrics.ts";
import { alertmanagerRoutes } from "../../triggers/alertmanager/routes.ts";
import { createLaunchTraining } from "../../functions/launch-training/deps.ts";
import { launchTraining } from "../../functions/launch-training/handler.ts";
import { createLogModelDeps } from "../../functions/log-model/deps.ts";
import { logModelHandler } from "../../functions/log-model/handler.ts";
import { createRetrainDeps } from "../../functions/retrain-on-drift/deps.ts";
import { StateRetrainStore } from "../../functions/retrain-on-drift/store.ts";
import { openStateStore } from "../state/index.ts";
import { retrainOnDrift } from "../../functions/retrain-on-drift/handler.ts";
import { createDeployModelDeps } from "../../functions/deploy-model/deps.ts";
import { importCanaryFile, StateCanaryStore } from "../../functions/deploy-model/canary-store.ts";
import { localCanaryStats, startCanaryLoop } from "../../functions/deploy-model/rollout.ts";
import { PrometheusCanaryStats } from "../../functions/deploy-model/prometheus-stats.ts";
import { PrometheusHttpClient } from "../telemetry/prometheus.ts";
import { ModelInfoCache } from "../../functions/infer/model-info.ts";
import { renderOnlyBackends } from "../serving/render-only.ts";
import { deployModelHandler } from "../../functions/deploy-model/handler.ts";
import { createCandidateMetrics } from "../../functions/infer/candidates.ts";
import { httpV2Client } from "../../functions/infer/client.ts";
import { embeddedV2Client } from "../../functions/infer/embedded-client.ts";
import { deploymentsApi } from "../../functions/infer/deployments-api.ts";
import { inferHandler } from "../../functions/infer/handler.ts";
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
import { eventsApi } from "./events-api.ts";
import { createInferenceLogging } from "./inference-log.ts";
import { FileDataWindows } from "../datasets/window.ts";
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

  const external = config.registry.trackingUri;
  // With an external MLflow the embedded store is not opened: serving an empty registry there would mislead clients.
  const registryServer = external
    ? externalRegistryStub(external)
    : createRegistryServer({
        dataDir: path.join(dataDir, "registry"),
        log: log.child({ component: "registry" }),
        publicUrl: config.publicUrl,
        extraArtifactRoots: config.registry.artifactRoots,
      });
  const mlflow = new MlflowClient({
    trackingUri: external ?? selfUrl,
    token: external ? config.registry.token : auth.token,
    username: external ? config.registry.username : undefined,
    password: external ? config.registry.password : undefined,
    caBundlePath: external ? config.registry.caBundlePath : undefined,
    fetch: external ? undefined : inProcessFetch,
  });
  // Local (file:) model sources are copied only from the roots the registry itself confines locations to.
  const registry = new MlflowModelRegistry(mlflow, external ? config.registry.artifactRoots : registryServer.localArtifactRoots);

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

  const v2 = new EmbeddedV2Server({ registry: metrics });
  const serving = new LocalServingBackend({ server: v2, stateDir: path.join(dataDir, "serving"), baseUrl: selfUrl, log: log.child({ component: "serving" }), now });
  const loadBaseline = registryBaselineLoader(registry, mlflow);
  // The monitor is the UI's live view; the counters are what Prometheus' rules compute drift from (same as Knative).
  // Its scorings go to the StateStore, so the UI's history chart outlives a restart.
  const driftHistory = new StateDriftHistory(state, { log: log.child({ component: "drift" }), now });
  const drift = new DriftMonitor({ registry: metrics, loadBaseline, log: log.child({ component: "drift" }), now, onScore: (m, v, point) => driftHistory.record(m, v, point) });
  const driftCounters = new DriftCounters({ registry: metrics, loadBaseline, log: log.child({ component: "drift" }), now });

  const fnLog = (name: string) => log.child({ function: name });
  const logging = await createInferenceLogging({ config, policies, metrics, bus, registry, log: fnLog("feedback"), now });
  const windows = new FileDataWindows({ store: logging.store, dir: path.join(config.inferenceLog.dir, "datasets") });
  // Same series as a Knative function process (function = its FUNCTION_TARGET), so one dashboard serves both modes.
  const fnMetrics = createFunctionMetrics(metrics);
  const targetOf = new Map(FUNCTION_TARGETS.map((t) => [TARGETS[t].service, t]));
  const fnTelemetry = { metrics: { ...fnMetrics, observe: (fn: string, outcome: InvocationOutcome, seconds: number) => fnMetrics.observe(targetOf.get(fn) ?? fn, outcome, seconds) } };
  services["launch-training"] = cloudEventRoute("launch-training", launchTraining, createLaunchTraining({ bus, backend: training, log: fnLog("launch-training"), now, windows }), fnTelemetry);
  services["log-model"] = cloudEventRoute("log-model", logModelHandler, createLogModelDeps({ bus, log: fnLog("log-model"), now, mlflow, policies }), fnTelemetry);
  services["retrain-on-drift"] = cloudEventRoute(
    "retrain-on-drift",
    retrainOnDrift,
    createRetrainDeps({ bus, registry, log: fnLog("retrain-on-drift"), policies, store: new StateRetrainStore(state), now, metrics, labelledSince: (m, since) => logging.store.labelledSince(m, since) }),
    fnTelemetry,
  );
  const backends = { local: serving } as const;
  const canaries = new StateCanaryStore(state);
  await importCanaryFile(path.join(dataDir, "deployments"), canaries);
  const deployDeps = createDeployModelDeps({
    canaries,
    bus,
    log: fnLog("deploy-model"),
    now,
    registry,
    backends,
    defaultBackend: "local",
    policies,
    workDir: path.join(dataDir, "deployments"),
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
    client: embeddedV2Client({ server: v2, baseUrl: selfUrl, fallback: httpV2Client((url, init) => inProcessFetch(url, init)) }),
    registry,
    drift: fanOut(drift, driftCounters),
    candidates: createCandidateMetrics(metrics),
    llm: config.llm,
    maxRows: config.infer.maxRows,
    log: fnLog("infer"),
  };
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
  services.infer = cloudEventRoute("infer", inferHandler, { ...inferDeps, bus, now, cache: new ModelInfoCache(), feedback: logging.feedback, logStore: logging.store }, fnTelemetry);
  services["dead-letter"] = cloudEventRoute("dead-letter", deadLetter, { bus, log: fnLog("dead-letter"), now, store: broker.deadLetterStore, deadLetters: deadLetterCounter(metrics) }, fnTelemetry);

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

  const checks: HealthCheck[] = [
    { name: "broker", check: () => broker.ready() || "broker not started" },
    {
      name: "registry",
      // External MLflow: its own /health (failing while unreachable); embedded: the in-process registry answers.
      check: external
        ? () => mlflow.health()
        : async () => ((await inProcessFetch(`${selfUrl}/api/2.0/mlflow/experiments/get?experiment_id=0`, { headers: auth.token ? { authorization: `Bearer ${auth.token}` } : {} })).ok ? true : "registry not answering"),
    },
    // The V2 server answers on this port (the same path KServe and MLServer probe).
    { name: "serving", check: async () => ((await inProcessFetch(`${selfUrl}/v2/health/live`)).ok ? true : "the V2 inference server is not answering") },
    // The job store answers a query and the data directory takes new job directories.
    {
      name: "training",
      check: async (): Promise<true> => {
        await training.list({ limit: 1 });
        await fs.promises.access(dataDir, fs.constants.W_OK);
        return true;
      },
    },
  ];

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
        traffic: {
          // Experiments (A/B, canaries) have exact per-arm tallies; a single model has the V2 server's own series.
          stats: async (name) => {
            const arms = serving.stats(name);
            if (arms) return arms;
            const d = await serving.get(name);
            if (d?.kind !== "model" || !d.version) return undefined;
            const t = await modelTraffic(v2.metrics, name, d.version);
            return t ? { [name]: t } : {};
          },
          canary: async (name) => {
            const c = await deployDeps.canaries.get(name);
            return c && { stable: c.stable, candidate: c.candidate, percent: c.percent, startedAt: c.startedAt, decideAfterRequests: c.policy.decideAfterRequests, decideAfterMinutes: c.policy.decideAfterMinutes };
          },
        },
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
