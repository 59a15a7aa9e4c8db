// FUNCTION_TARGET=ui: the web UI as its own Knative Service, over the cluster's registry, training and serving.
import { anonymousBodyLimit } from "../platform/app/access.ts";
import { createAuth } from "../platform/auth/index.ts";
import { HttpEventBus } from "../platform/bus/http.ts";
import { parseConfig } from "../platform/config/index.ts";
import { ConfigError } from "../platform/errors.ts";
import { registerHonoHttp } from "../platform/fn/http.ts";
import { createLogger } from "../platform/log.ts";
import { MlflowClient, MlflowModelRegistry } from "../platform/mlflow/index.ts";
import { clusterServingBackend } from "../platform/serving/cluster.ts";
import { KubernetesTrainingBackend } from "../platform/training/kubernetes/backend.ts";
import { httpV2Client } from "../functions/infer/client.ts";
import { uiDepsFrom } from "./adapters.ts";
import { createUi } from "./index.tsx";
import { Hono } from "hono";

export const FUNCTION_TARGET = "ui";

/**
 * In a cluster the event log and the dead-letter queue belong to the Broker and the dead-letter service, which this
 * process cannot read: the Activity page shows none (known gap), while every other page reads the real systems.
 */
export async function knativeUi(env: Record<string, string | undefined> = process.env): Promise<Hono> {
  const config = parseConfig(env);
  const problems: string[] = [];
  if (!config.registry.trackingUri) problems.push("MLFLOW_TRACKING_URI: required for the UI in Knative mode");
  if (!config.knative.brokerUrl) problems.push("K_SINK or FLYWHEEL_BROKER_URL: required to request trainings and deployments");
  if (config.serving.backend === "local") problems.push("FLYWHEEL_SERVING_BACKEND: must be seldon or kserve in Knative mode");
  if (problems.length || !config.registry.trackingUri || !config.knative.brokerUrl || config.serving.backend === "local") throw new ConfigError(problems);
  const log = createLogger(config.logLevel, { function: "ui" });
  const auth = await createAuth({ config, log });
  const mlflow = MlflowClient.fromConfig(config, config.registry.trackingUri);
  const bus = new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token });
  const serving = await clusterServingBackend(config.serving.backend, config.kubernetes.namespace, log, env);
  const training = KubernetesTrainingBackend.fromConfig(config, { env, log, watch: false });
  const deps = uiDepsFrom({
    auth,
    broker: {
      emit: (e) => bus.emit(e),
      recentEvents: () => [],
      deadLetters: () => [],
      replayDeadLetter: async () => undefined,
      discardDeadLetter: () => undefined,
    },
    training,
    mlflow,
    registry: new MlflowModelRegistry(mlflow),
    serving,
    v2: httpV2Client(),
    drift: { snapshot: () => undefined },
    checks: [{ name: "registry", check: async () => ((await mlflow.searchExperiments({ maxResults: 1 })) ? true : "registry not answering") }],
    config,
    log,
  });
  return new Hono().use("*", auth.middleware).use("*", anonymousBodyLimit([])).use("*", auth.csrf).route("/", auth.routes).route("/", createUi(deps));
}

registerHonoHttp(FUNCTION_TARGET, () => knativeUi());
