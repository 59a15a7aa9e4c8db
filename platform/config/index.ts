// Typed configuration, parsed once at the entry point from an injectable environment (style.md §4).
import path from "node:path";
import * as z from "zod";
import { trustedProxyList } from "../auth/proxies.ts";
import { ConfigError } from "../errors.ts";
import { DEFAULT_ONNX_WORKERS, type OnnxThreading } from "../serving/onnx-options.ts";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes");

const optionalUrl = z.url().optional();

/** Raw environment, validated. Field names are the environment variable names. */
const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  FLYWHEEL_DATA_DIR: z.string().default(".flywheel"),
  /** Knative mode's shared state store (PostgreSQL); unset = SQLite under FLYWHEEL_DATA_DIR (embedded). */
  FLYWHEEL_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  /** Key that signs UI sessions and OIDC state; every UI replica must share it (a Kubernetes Secret). */
  FLYWHEEL_SESSION_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  FLYWHEEL_PUBLIC_URL: optionalUrl,
  FLYWHEEL_AUTH_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  FLYWHEEL_DEV_MODE: bool.default(false),
  FLYWHEEL_TRUSTED_PROXIES: z.string().optional(),
  FLYWHEEL_PROTECT_INFERENCE: bool.default(false),
  FLYWHEEL_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Where the UI and CLI say the registry lives; embedded by default. */
  MLFLOW_TRACKING_URI: optionalUrl,
  MLFLOW_TRACKING_TOKEN: z.string().optional(),
  MLFLOW_TRACKING_USERNAME: z.string().optional(),
  MLFLOW_TRACKING_PASSWORD: z.string().optional(),
  MLFLOW_TRACKING_SERVER_CERT_PATH: z.string().optional(),
  /** Where the training artifacts volume (pvc://flywheel-artifacts/<job>) is mounted in this pod (log-model, Knative). */
  FLYWHEEL_ARTIFACTS_PVC_DIR: z.string().optional(),
  /** Extra directories (path-delimiter separated, absolute) local artifact locations and model sources may point into. */
  FLYWHEEL_ARTIFACT_ROOTS: z
    .string()
    .optional()
    .transform((v) => (v ?? "").split(path.delimiter).map((s) => s.trim()).filter(Boolean))
    .refine((roots) => roots.every((r) => path.isAbsolute(r)), "every entry must be an absolute path"),
  FLYWHEEL_TRAINING_BACKEND: z.enum(["local", "kubernetes"]).default("local"),
  FLYWHEEL_DDP_OPERATOR: z.enum(["pytorchjob", "trainjob"]).default("pytorchjob"),
  /** Local training: each job in a cgroup v2 of its own. `auto` finds a writable one, `off`, or an absolute cgroup2 directory. */
  FLYWHEEL_TRAINING_CGROUP: z
    .string()
    .default("auto")
    .refine((v) => v === "auto" || v === "off" || path.isAbsolute(v), "must be auto, off or an absolute path"),
  FLYWHEEL_SERVING_BACKEND: z.enum(["local", "seldon", "kserve"]).default("local"),
  /** Threads one onnxruntime model run may use (embedded V2 server, log-model's evaluation); 1 suits tabular models. */
  FLYWHEEL_ONNX_THREADS: z.coerce.number().int().min(1).max(256).default(1),
  /** Whether onnxruntime's pool threads spin-wait between parallel ops (CPU for latency; off by default). */
  FLYWHEEL_ONNX_SPINNING: bool.default(false),
  /** V2 server: worker threads per loaded model that run it (each with its own session); 0 runs models on the event loop. */
  FLYWHEEL_ONNX_WORKERS: z.coerce.number().int().min(0).max(64).default(DEFAULT_ONNX_WORKERS),
  FLYWHEEL_NAMESPACE: z.string().default("flywheel"),
  /** Knative mode: where functions emit events (the broker ingress); K_SINK wins when a SinkBinding sets it. */
  FLYWHEEL_BROKER_URL: optionalUrl,
  K_SINK: optionalUrl,
  K_SERVICE: z.string().optional(),
  K_REVISION: z.string().optional(),
  FUNCTION_TARGET: z.string().optional(),
  /**
   * Knative mode: on SIGTERM, how long requests in flight may take to finish before the rest are cut and the process
   * exits. The manifests set it under the pod's termination grace period (Knative: the revision's timeoutSeconds).
   */
  FLYWHEEL_DRAIN_SECONDS: z.coerce.number().min(0).max(3600).default(25),
  FLYWHEEL_TRIGGERS_FILE: z.string().optional(),
  FLYWHEEL_SCHEDULES_FILE: z.string().optional(),
  FLYWHEEL_POLICIES_FILE: z.string().optional(),
  /** Key that signs request ids (shared by every infer replica); embedded mode keeps one under the data dir. */
  FLYWHEEL_REQUEST_ID_SECRET: z.string().min(16, "at least 16 characters").optional(),
  /** Root of the inference log and labelled data (default <data dir>/inference-log). */
  FLYWHEEL_INFERENCE_LOG_DIR: z.string().optional(),
  /**
   * Knative mode: where launch-training writes a spec's data window as a dataset, on a volume the training job mounts
   * at the same path (the manifests: the artifacts PVC). Unset: launch-training does not resolve windows.
   */
  FLYWHEEL_WINDOW_DATASETS_DIR: z.string().optional(),
  /**
   * Window datasets kept per model however unused (the newest); older ones go unless an unfinished training or a
   * registered version still names them. 0 keeps every window (no pruning).
   */
  FLYWHEEL_WINDOW_DATASETS_KEEP: z.coerce.number().int().min(0).max(100_000).default(10),
  /** Rows (CSV lines or records) one infer request may carry: bounds the CPU one request takes (issue 17). */
  FLYWHEEL_INFER_MAX_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  FLYWHEEL_KAFKA_BROKERS: z.string().optional(),
  FLYWHEEL_KAFKA_TOPIC: z.string().default("flywheel.training.requests"),
  FLYWHEEL_KAFKA_GROUP: z.string().default("flywheel-training-requests"),
  FLYWHEEL_ALERTMANAGER_TOKEN: z.string().optional(),
  FLYWHEEL_PROMETHEUS_URL: optionalUrl,
  /** Bearer token for the Prometheus HTTP API (canary statistics), when it sits behind auth. */
  FLYWHEEL_PROMETHEUS_TOKEN: z.string().optional(),
  FLYWHEEL_ALERTMANAGER_URL: optionalUrl,
  FLYWHEEL_GRAFANA_URL: optionalUrl,
  FLYWHEEL_AIRFLOW_URL: optionalUrl,
  FLYWHEEL_AIRFLOW_USERNAME: z.string().optional(),
  FLYWHEEL_AIRFLOW_PASSWORD: z.string().optional(),
  FLYWHEEL_MLFLOW_UI_URL: optionalUrl,
  FLYWHEEL_TRACING_UI_URL: optionalUrl,
  FLYWHEEL_OIDC_ISSUER: optionalUrl,
  FLYWHEEL_OIDC_CLIENT_ID: z.string().optional(),
  FLYWHEEL_OIDC_CLIENT_SECRET: z.string().optional(),
  FLYWHEEL_OIDC_ROLE_CLAIM: z.string().default("groups"),
  FLYWHEEL_OIDC_ROLE_MAP: z.string().optional(),
  FLYWHEEL_LLM_URL: optionalUrl,
  FLYWHEEL_LLM_API_KEY: z.string().optional(),
  FLYWHEEL_LLM_MODEL: z.string().default("gpt-4o-mini"),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_SERVICE_NAME: z.string().optional(),
});

export type Env = Record<string, string | undefined>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly state: {
    /** PostgreSQL DSN (never logged: it may carry a password); undefined = SQLite at <dataDir>/state.sqlite. */
    readonly databaseUrl: string | undefined;
  };
  readonly publicUrl: string | undefined;
  readonly logLevel: "debug" | "info" | "warn" | "error" | "silent";
  readonly auth: {
    /** Admin token; undefined means "generate one at start-up" (flywheel up) or "auth off" in dev mode. */
    readonly token: string | undefined;
    readonly devMode: boolean;
    /** Shared session-signing key; undefined = a random per-process key kept in the data dir (embedded). */
    readonly sessionKey: string | undefined;
    readonly protectInference: boolean;
    /** Proxies (IPs or CIDRs) whose X-Forwarded-For is believed; nobody else's is. */
    readonly trustedProxies: readonly string[];
    readonly oidc:
      | { issuer: string; clientId: string; clientSecret: string | undefined; roleClaim: string; roleMap: Record<string, string> }
      | undefined;
  };
  readonly registry: {
    /** undefined = the embedded MLflow-compatible server on this process's own port. */
    readonly trackingUri: string | undefined;
    readonly token: string | undefined;
    readonly username: string | undefined;
    readonly password: string | undefined;
    readonly caBundlePath: string | undefined;
    /** Besides the embedded registry's own artifact root: where local (file:) artifact locations may point. */
    readonly artifactRoots: readonly string[];
    /** Mount of the training artifacts PVC: pvc://flywheel-artifacts/<path> is read at <dir>/<path>. */
    readonly artifactsPvcDir: string | undefined;
  };
  readonly training: { readonly backend: "local" | "kubernetes"; readonly ddpOperator: "pytorchjob" | "trainjob"; readonly cgroup: CgroupSetting };
  readonly serving: { readonly backend: "local" | "seldon" | "kserve"; readonly onnx: OnnxThreading; readonly onnxWorkers: number };
  readonly kubernetes: { readonly namespace: string };
  readonly knative: {
    readonly brokerUrl: string | undefined;
    readonly service: string | undefined;
    readonly revision: string | undefined;
    readonly functionTarget: string | undefined;
    readonly drainSeconds: number;
  };
  readonly files: {
    readonly triggers: string | undefined;
    readonly schedules: string | undefined;
    readonly policies: string | undefined;
  };
  readonly kafka:
    | { readonly brokers: readonly string[]; readonly topic: string; readonly groupId: string }
    | undefined;
  readonly kafkaTopic: string;
  readonly inferenceLog: {
    readonly secret: string | undefined;
    readonly dir: string;
    /** Set only when FLYWHEEL_INFERENCE_LOG_DIR is: a shared log (Knative mode), not the per-pod default. */
    readonly shared?: string | undefined;
    readonly windowDatasets?: string | undefined;
    /** Window datasets kept per model beyond those in use; 0 = never prune. */
    readonly windowDatasetsKeep: number;
  };
  readonly infer: { readonly maxRows: number };
  readonly alertmanagerToken: string | undefined;
  readonly links: {
    readonly prometheus: string | undefined;
    readonly alertmanager: string | undefined;
    readonly grafana: string | undefined;
    readonly airflow: string | undefined;
    readonly mlflow: string | undefined;
    readonly tracing: string | undefined;
  };
  /** The Prometheus HTTP API as a metrics source (canary statistics); undefined = in-process statistics. */
  readonly prometheus: { readonly url: string; readonly token: string | undefined } | undefined;
  readonly airflow: { readonly username: string | undefined; readonly password: string | undefined };
  readonly llm: { readonly url: string; readonly apiKey: string | undefined; readonly model: string } | undefined;
  readonly telemetry: { readonly otlpEndpoint: string | undefined; readonly serviceName: string | undefined };
}

export interface ConfigOverrides {
  port?: number;
  dataDir?: string;
  host?: string;
}

/** Parse the environment (and CLI overrides) into a frozen Config. Throws ConfigError naming each bad variable. */
/** FLYWHEEL_TRAINING_CGROUP: `auto` (find a writable cgroup v2), `off`, or the cgroup v2 directory to put jobs under. */
export type CgroupSetting = { readonly mode: "auto" } | { readonly mode: "off" } | { readonly mode: "path"; readonly path: string };

function cgroupSetting(v: string): CgroupSetting {
  return v === "auto" || v === "off" ? { mode: v } : { mode: "path", path: path.resolve(v) };
}

export function parseConfig(env: Env = process.env, overrides: ConfigOverrides = {}): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  // jitless: the environment is parsed once or twice per process, and zod's compiled fast path for an object this wide
  // (a `new Function` per schema, which the build's V8 code cache cannot keep) costs a cold start ~8-18 ms to build,
  // for a parse that takes ~2 ms without it. Same checks, same issues.
  const parsed = EnvSchema.safeParse(cleaned, { jitless: true });
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  const host = overrides.host ?? (e.FLYWHEEL_DEV_MODE && !env.HOST ? "127.0.0.1" : e.HOST);
  if (e.FLYWHEEL_DEV_MODE && !isLoopback(host)) {
    throw new ConfigError([`FLYWHEEL_DEV_MODE: auth can only be off on a loopback bind, not HOST=${host}`]);
  }
  const trustedProxies = (e.FLYWHEEL_TRUSTED_PROXIES ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const badProxies = trustedProxyList(trustedProxies).invalid;
  if (badProxies.length) throw new ConfigError([`FLYWHEEL_TRUSTED_PROXIES: not an IP address or CIDR: ${badProxies.join(", ")}`]);
  const oidc =
    e.FLYWHEEL_OIDC_ISSUER && e.FLYWHEEL_OIDC_CLIENT_ID
      ? {
          issuer: e.FLYWHEEL_OIDC_ISSUER,
          clientId: e.FLYWHEEL_OIDC_CLIENT_ID,
          clientSecret: e.FLYWHEEL_OIDC_CLIENT_SECRET,
          roleClaim: e.FLYWHEEL_OIDC_ROLE_CLAIM,
          roleMap: parseRoleMap(e.FLYWHEEL_OIDC_ROLE_MAP),
        }
      : undefined;
  const config: Config = {
    port: overrides.port ?? e.PORT,
    host,
    dataDir: path.resolve(overrides.dataDir ?? e.FLYWHEEL_DATA_DIR),
    state: { databaseUrl: e.FLYWHEEL_DATABASE_URL },
    publicUrl: e.FLYWHEEL_PUBLIC_URL,
    logLevel: e.FLYWHEEL_LOG_LEVEL,
    auth: {
      token: e.FLYWHEEL_AUTH_TOKEN,
      devMode: e.FLYWHEEL_DEV_MODE,
      sessionKey: e.FLYWHEEL_SESSION_KEY,
      protectInference: e.FLYWHEEL_PROTECT_INFERENCE,
      trustedProxies,
      oidc,
    },
    registry: {
      trackingUri: e.MLFLOW_TRACKING_URI,
      token: e.MLFLOW_TRACKING_TOKEN,
      username: e.MLFLOW_TRACKING_USERNAME,
      password: e.MLFLOW_TRACKING_PASSWORD,
      caBundlePath: e.MLFLOW_TRACKING_SERVER_CERT_PATH,
      artifactRoots: e.FLYWHEEL_ARTIFACT_ROOTS.map((r) => path.resolve(r)),
      artifactsPvcDir: e.FLYWHEEL_ARTIFACTS_PVC_DIR ? path.resolve(e.FLYWHEEL_ARTIFACTS_PVC_DIR) : undefined,
    },
    training: { backend: e.FLYWHEEL_TRAINING_BACKEND, ddpOperator: e.FLYWHEEL_DDP_OPERATOR, cgroup: cgroupSetting(e.FLYWHEEL_TRAINING_CGROUP) },
    serving: { backend: e.FLYWHEEL_SERVING_BACKEND, onnx: { intraOpThreads: e.FLYWHEEL_ONNX_THREADS, spinning: e.FLYWHEEL_ONNX_SPINNING }, onnxWorkers: e.FLYWHEEL_ONNX_WORKERS },
    kubernetes: { namespace: e.FLYWHEEL_NAMESPACE },
    knative: {
      brokerUrl: e.K_SINK ?? e.FLYWHEEL_BROKER_URL,
      service: e.K_SERVICE,
      revision: e.K_REVISION,
      functionTarget: e.FUNCTION_TARGET,
      drainSeconds: e.FLYWHEEL_DRAIN_SECONDS,
    },
    files: {
      triggers: e.FLYWHEEL_TRIGGERS_FILE,
      schedules: e.FLYWHEEL_SCHEDULES_FILE,
      policies: e.FLYWHEEL_POLICIES_FILE,
    },
    kafka: e.FLYWHEEL_KAFKA_BROKERS
      ? {
          brokers: e.FLYWHEEL_KAFKA_BROKERS.split(",").map((s) => s.trim()).filter(Boolean),
          topic: e.FLYWHEEL_KAFKA_TOPIC,
          groupId: e.FLYWHEEL_KAFKA_GROUP,
        }
      : undefined,
    kafkaTopic: e.FLYWHEEL_KAFKA_TOPIC,
    inferenceLog: {
      secret: e.FLYWHEEL_REQUEST_ID_SECRET,
      dir: path.resolve(e.FLYWHEEL_INFERENCE_LOG_DIR ?? path.join(overrides.dataDir ?? e.FLYWHEEL_DATA_DIR, "inference-log")),
      shared: e.FLYWHEEL_INFERENCE_LOG_DIR === undefined ? undefined : path.resolve(e.FLYWHEEL_INFERENCE_LOG_DIR),
      windowDatasets: e.FLYWHEEL_WINDOW_DATASETS_DIR === undefined ? undefined : path.resolve(e.FLYWHEEL_WINDOW_DATASETS_DIR),
      windowDatasetsKeep: e.FLYWHEEL_WINDOW_DATASETS_KEEP,
    },
    infer: { maxRows: e.FLYWHEEL_INFER_MAX_ROWS },
    alertmanagerToken: e.FLYWHEEL_ALERTMANAGER_TOKEN,
    links: {
      prometheus: e.FLYWHEEL_PROMETHEUS_URL,
      alertmanager: e.FLYWHEEL_ALERTMANAGER_URL,
      grafana: e.FLYWHEEL_GRAFANA_URL,
      airflow: e.FLYWHEEL_AIRFLOW_URL,
      mlflow: e.FLYWHEEL_MLFLOW_UI_URL,
      tracing: e.FLYWHEEL_TRACING_UI_URL,
    },
    prometheus: e.FLYWHEEL_PROMETHEUS_URL ? { url: e.FLYWHEEL_PROMETHEUS_URL, token: e.FLYWHEEL_PROMETHEUS_TOKEN } : undefined,
    airflow: { username: e.FLYWHEEL_AIRFLOW_USERNAME, password: e.FLYWHEEL_AIRFLOW_PASSWORD },
    llm: e.FLYWHEEL_LLM_URL
      ? { url: e.FLYWHEEL_LLM_URL, apiKey: e.FLYWHEEL_LLM_API_KEY, model: e.FLYWHEEL_LLM_MODEL }
      : undefined,
    telemetry: { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME ?? e.K_SERVICE },
  };
  return deepFreeze(config);
}

function parseRoleMap(raw: string | undefined): Record<string, string> {
  // "group-a=mlops-engineer,group-b=viewer"
  if (!raw) return {};
  return Object.fromEntries(
    raw
      .split(",")
      .map((pair) => pair.split("=").map((s) => s.trim()))
      .filter((p): p is [string, string] => p.length === 2 && Boolean(p[0]) && Boolean(p[1])),
  );
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
