// Embedded wiring of the inference log: the signing key (config, or one kept under the data dir), the file store,
// live accuracy, feedback's deps, the read/delete API and the hourly retention sweep.
import type { Registry } from "prom-client";
import type { Hono } from "hono";
import { loadOrCreateSecret, randomToken } from "../auth/secrets.ts";
import type { Config } from "../config/index.ts";
import { inferenceLogApi, InferenceLogger, FileInferenceLog, LiveAccuracy, PrometheusAccuracy, requestIds } from "../inference-log/index.ts";
import { PrometheusHttpClient } from "../telemetry/prometheus.ts";
import { errorFields, type Logger } from "../log.ts";
import type { Policies } from "../policies/index.ts";
import type { EventBus, ModelRegistry } from "../ports.ts";
import type { FeedbackDeps } from "../../functions/feedback/deps.ts";

export interface InferenceLogging {
  readonly logger: InferenceLogger;
  readonly store: FileInferenceLog;
  readonly accuracy: LiveAccuracy;
  readonly feedback: FeedbackDeps;
  readonly api: Hono;
  /** Retention now and every hour. */
  start(): void;
  stop(): void;
}

export async function createInferenceLogging(o: {
  config: Config;
  policies: Policies;
  metrics: Registry;
  bus: EventBus;
  registry: ModelRegistry;
  log: Logger;
  now: () => number;
}): Promise<InferenceLogging> {
  const secret = o.config.inferenceLog.secret ?? (await loadOrCreateSecret(o.config.dataDir, "request-id.key", () => randomToken())).value;
  const ids = requestIds(secret);
  const store = new FileInferenceLog(o.config.inferenceLog.dir);
  const accuracy = new LiveAccuracy(o.metrics);
  const logger = new InferenceLogger({ ids, sink: { write: (r) => store.append(r) }, policyFor: (d) => o.policies.loggingFor(d), hashKey: secret, log: o.log, now: o.now });
  const sweep = (): void => {
    try {
      for (const d of store.deployments()) {
        const n = store.prune(d, o.policies.loggingFor(d).retentionDays, o.now());
        if (n) o.log.info("inference log: partitions past retention deleted", { deployment: d, partitions: n });
      }
    } catch (e) {
      o.log.warn("inference log: retention sweep failed", errorFields(e));
    }
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    logger,
    store,
    accuracy,
    feedback: {
      bus: o.bus, log: o.log, now: o.now, store, ids, accuracy, policies: o.policies, registry: o.registry,
      // With Prometheus configured, the rollback policy reads the same summed counters as ModelAccuracyDropped.
      accuracySource: o.config.prometheus ? new PrometheusAccuracy({ prometheus: new PrometheusHttpClient(o.config.prometheus) }) : undefined,
    },
    api: inferenceLogApi({ store, now: o.now }),
    start() {
      sweep();
      timer = setInterval(sweep, 3_600_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
