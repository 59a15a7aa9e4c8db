// The composition root of embedded mode: every component in one process, wired through the same ports as Knative.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { createAuth, type Auth } from "../auth/index.ts";
import type { Config } from "../config/index.ts";
import { DriftMonitor } from "../drift/index.ts";
import { DEFAULT_TRIGGERS_FILE, loadTriggerFile } from "../eventing/triggers.ts";
import { deadLetter } from "../eventing/dead-letter.ts";
import { toHttpError, ValidationError } from "../errors.ts";
import { cloudEventRoute } from "../fn/hono.ts";
import { createDeliver, EmbeddedBroker } from "../local/broker/index.ts";
import { errorFields, type Logger } from "../log.ts";
import { createMetricsRegistry } from "../metrics.ts";
import { MlflowClient, MlflowModelRegistry } from "../mlflow/index.ts";
import { loadPolicies } from "../policies/index.ts";
import type { EventBus, ModelRegistry } from "../ports.ts";
import { createRegistryServer, REGISTRY_MOUNT_PATH } from "../registry/index.ts";
import { LocalServingBackend } from "../serving/local/backend.ts";
import { v2Routes } from "../serving/local/routes.ts";
import { EmbeddedV2Server } from "../serving/local/server.ts";
import { LocalTrainingBackend } from "../training/local/backend.ts";
import { trainingEventsFromBackend } from "../training/events.ts";
import { withTrainingMetrics } from "../training/metrics.ts";
import { alertmanagerRoutes } from "../../triggers/alertmanager/routes.ts";
import { createLaunchTraining } from "../../functions/launch-training/deps.ts";
import { launchTraining } from "../../functions/launch-training/handler.ts";
import { createLogModelDeps } from "../../functions/log-model/deps.ts";
import { logModelHandler } from "../../functions/log-model/handler.ts";
import { createRetrainDeps } from "../../functions/retrain-on-drift/deps.ts";
import { retrainOnDrift } from "../../functions/retrain-on-drift/handler.ts";
import { createDeployModelDeps } from "../../functions/deploy-model/deps.ts";
import { startCanaryLoop } from "../../functions/deploy-model/rollout.ts";
import { ModelInfoCache } from "../../functions/infer/model-info.ts";
import { renderOnlyBackends } from "../serving/render-only.ts";
import { deployModelHandler } from "../../functions/deploy-model/handler.ts";
import { httpV2Client } from "../../functions/infer/client.ts";
import { deploymentsApi } from "../../functions/infer/deployments-api.ts";
import { inferHandler } from "../../functions/infer/handler.ts";
import { inferRoutes } from "../../functions/infer/routes.ts";
import { jobsApi } from "../training/jobs-api.ts";
import { tracedBus } from "../telemetry/index.ts";
import { CronScheduler, loadSchedules } from "../../triggers/cron/index.ts";
import { KafkaBridge } from "../../triggers/kafka/index.ts";
import { schedulesApi } from "./schedules-api.ts";
import { createUi } from "../../pages/index.tsx";
import { uiDepsFrom } from "../../pages/adapters.ts";
import { accessControl, accessRules, anonymousBodyLimit } from "./access.ts";
import { registryBaselineLoader } from "./baseline.ts";
import { eventsApi } from "./events-api.ts";
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

function errorMessage(body: unknown): string {
  return body && typeof body === "object" && "error" in body ? String(body.error) : "inference failed";
}

export async function createEmbeddedPlatform(o: EmbeddedPlatformOptions): Promise<EmbeddedPlatform> {
  const { config, log, selfUrl } = o;
  const now = o.now ?? Date.now;
  const dataDir = config.dataDir;
  ensurePrivateDir(dataDir);
  const metrics = createMetricsRegistry({ service: config.knative.service ?? "flywheel" });
  const auth = await createAuth({ config, dataDir, log: log.child({ component: "auth" }) });
  const policies = loadPolicies(config.files.policies);

  // The app is built last; the registry client and the broker call into it in-process through this reference.
  const app = new Hono();
  const inProcessFetch: typeof fetch = async (input, init) => app.fetch(new Request(input, init));

  const registryServer = createRegistryServer({ dataDir: path.join(dataDir, "registry"), log: log.child({ component: "registry" }), publicUrl: config.publicUrl });
  const external = config.registry.trackingUri;
  const mlflow = new MlflowClient({
    trackingUri: external ?? selfUrl,
    token: external ? config.registry.token : auth.token,
    username: external ? config.registry.username : undefined,
    password: external ? config.registry.password : undefined,
    caBundlePath: external ? config.registry.caBundlePath : undefined,
    fetch: external ? undefined : inProcessFetch,
  });
  const registry = new MlflowModelRegistry(mlflow);

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
    registry: { trackingUri: external ?? selfUrl, token: external ? config.registry.token : auth.token },
    log: log.child({ component: "training" }),
    now,
  });

  const v2 = new EmbeddedV2Server({ registry: metrics });
  const serving = new LocalServingBackend({ server: v2, stateDir: path.join(dataDir, "serving"), baseUrl: selfUrl, log: log.child({ component: "serving" }), now });
  const drift = new DriftMonitor({ registry: metrics, loadBaseline: registryBaselineLoader(registry, mlflow), log: log.child({ component: "drift" }), now });

  const fnLog = (name: string) => log.child({ function: name });
  services["launch-training"] = cloudEventRoute("launch-training", launchTraining, createLaunchTraining({ bus, backend: training, log: fnLog("launch-training"), now }));
  services["log-model"] = cloudEventRoute("log-model", logModelHandler, createLogModelDeps({ bus, log: fnLog("log-model"), now, mlflow, policies }));
  services["retrain-on-drift"] = cloudEventRoute(
    "retrain-on-drift",
    retrainOnDrift,
    createRetrainDeps({ bus, registry, log: fnLog("retrain-on-drift"), policies, dataDir: path.join(dataDir, "retrain"), now }),
  );
  const backends = { local: serving } as const;
  const deployDeps = createDeployModelDeps({
    bus,
    log: fnLog("deploy-model"),
    now,
    registry,
    backends,
    defaultBackend: "local",
    policies,
    workDir: path.join(dataDir, "deployments"),
    canaryStats: { stats: async (name) => serving.stats(name) },
  });
  services["deploy-model"] = cloudEventRoute("deploy-model", deployModelHandler, deployDeps);
  // infer calls the V2 server in-process: same handlers and status codes, no socket per prediction.
  const inferDeps = {
    backend: serving,
    client: httpV2Client((url, init) => inProcessFetch(url, init)),
    registry,
    drift,
    llm: config.llm,
    log: fnLog("infer"),
  };
  services.infer = cloudEventRoute("infer", inferHandler, { ...inferDeps, bus, now, cache: new ModelInfoCache() });
  services["dead-letter"] = cloudEventRoute("dead-letter", deadLetter, { bus, log: fnLog("dead-letter"), now, store: broker.deadLetterStore });

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
    { name: "registry", check: async () => ((await inProcessFetch(`${selfUrl}/api/2.0/mlflow/experiments/get?experiment_id=0`, { headers: auth.token ? { authorization: `Bearer ${auth.token}` } : {} })).ok ? true : "registry not answering") },
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
  const rules = accessRules({ protectInference: config.auth.protectInference });
  app.use("*", auth.middleware);
  app.use("*", anonymousBodyLimit(rules));
  app.use("*", auth.csrf);
  app.use("*", accessControl(auth, rules));
  app.route("/", auth.routes);
  app.route("/events", broker.routes());
  app.route(REGISTRY_MOUNT_PATH, registryServer.routes);
  app.route("/v2", v2Routes(v2));
  app.route("/hooks/alertmanager", alertmanagerRoutes({ bus, token: config.alertmanagerToken ?? auth.token ?? "", log: log.child({ component: "alertmanager" }) }));
  app.route("/infer", inferRoutes(inferDeps));
  app.route("/api/v1/jobs", jobsApi({ backend: training, bus, log: log.child({ component: "jobs-api" }) }));
  app.route("/api/v1/deployments", deploymentsApi({ bus, log: log.child({ component: "deployments-api" }), now, backends, defaultBackend: "local", registry, renderers: renderOnlyBackends(config.kubernetes.namespace) }));
  app.route("/api/v1/schedules", schedulesApi(cron));
  app.route("/api/v1", eventsApi(broker));
  const v2Client = httpV2Client((url, init) => inProcessFetch(url, init));
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
        v2: v2Client,
        // The playground's text box goes through the same infer function as POST /infer.
        inferText: async (deployment, text) => {
          const res = await inProcessFetch(`${selfUrl}/infer/${encodeURIComponent(deployment)}`, { method: "POST", headers: { "content-type": "text/plain" }, body: text });
          const body: unknown = await res.json();
          if (!res.ok) throw new ValidationError([{ field: "text", message: errorMessage(body) }]);
          return body as { predictions: unknown };
        },
        drift,
        checks,
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
      // A broker that is down must not keep the platform from starting: the bridge retries on its own.
      kafka?.start().catch((e: unknown) => log.error("kafka bridge failed to start", errorFields(e)));
    },
    async stop() {
      cron.stop();
      stopCanaries?.();
      await kafka?.stop();
      drift.close();
      await training.close();
      await broker.stop();
      await v2.close();
      registryServer.close();
    },
  };
}
