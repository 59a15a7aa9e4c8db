// Namespace, shared config, and per function: ServiceAccount and Knative Service (interfaces.md §2).
import { TARGETS, type FunctionTarget } from "../knative/targets.ts";
import { ARTIFACT_MOUNT } from "../training/kubernetes/render.ts";
import { databaseEnv } from "./database.ts";
import { meta, type K8sObject } from "./object.ts";
import { policiesWiring } from "./policies.ts";
import { BROKER_INGRESS_URL, IMAGE, NAMESPACE, SECRETS, SERVICES, type FunctionSettings } from "./settings.ts";

export const CONFIG_MAP = "flywheel-config";
export const CA_CONFIG_MAP = "flywheel-ca";
/** Label on every function pod; the metrics Service and NetworkPolicies select on it. */
export const FUNCTION_POD_LABEL = "flywheel.dev/function";
/** Objects undeploy keeps by default (`kubectl delete -l 'flywheel.dev/retain!=data'`): data volumes and their namespace. */
export const RETAIN_LABEL = "flywheel.dev/retain";
const INFERENCE_LOG_MOUNT = "/var/lib/flywheel/inference-log";
const TRAINING_ARTIFACTS_CLAIM = "flywheel-artifacts";

export function namespace(): K8sObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      ...meta(NAMESPACE, undefined, "namespace"),
      labels: {
        "app.kubernetes.io/name": "flywheel",
        "app.kubernetes.io/component": "namespace",
        // trust-manager copies the CA bundle into namespaces with this label.
        "flywheel.dev/trust": "enabled",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        // Deleting the namespace would delete the data volumes: ansible/undeploy.yml keeps it unless asked not to.
        [RETAIN_LABEL]: "data",
      },
    },
  };
}

/** Settings every function reads (platform/config). Overlays patch individual keys. */
export function configMap(): K8sObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(CONFIG_MAP, NAMESPACE, "config"),
    data: {
      FLYWHEEL_NAMESPACE: NAMESPACE,
      FLYWHEEL_BROKER_URL: BROKER_INGRESS_URL,
      FLYWHEEL_TRAINING_BACKEND: "kubernetes",
      FLYWHEEL_DDP_OPERATOR: "pytorchjob",
      FLYWHEEL_SERVING_BACKEND: "kserve",
      FLYWHEEL_LOG_LEVEL: "info",
      FLYWHEEL_DATA_DIR: "/tmp/flywheel",
      MLFLOW_TRACKING_URI: "http://mlflow.mlflow.svc.cluster.local:5000",
      MLFLOW_TRACKING_SERVER_CERT_PATH: "/etc/flywheel/ca/ca.crt",
      FLYWHEEL_PROMETHEUS_URL: "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090",
      FLYWHEEL_GRAFANA_URL: "http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector.monitoring.svc.cluster.local:4318",
      NODE_EXTRA_CA_CERTS: "/etc/flywheel/ca/ca.crt",
    },
  };
}

export function serviceAccount(name: string, automount: boolean): K8sObject {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name, NAMESPACE, "rbac"), automountServiceAccountToken: automount };
}

/** Functions that call the Kubernetes API get a token mounted; the rest run without one. */
export const USES_KUBERNETES_API: ReadonlySet<FunctionTarget> = new Set(["launchTraining", "deployModel", "infer", "ui"]);

const secretEnv = (name: string, ref: { name: string; key: string }, optional = false) => ({
  name,
  valueFrom: { secretKeyRef: { name: ref.name, key: ref.key, ...(optional ? { optional: true } : {}) } },
});

function extraEnv(target: FunctionTarget): unknown[] {
  switch (target) {
    case "alertmanagerTrigger":
      return [secretEnv("FLYWHEEL_ALERTMANAGER_TOKEN", SECRETS.alertmanagerToken)];
    case "ui":
      return [secretEnv("FLYWHEEL_AUTH_TOKEN", SECRETS.adminToken), secretEnv("FLYWHEEL_SESSION_KEY", SECRETS.sessionKey)];
    case "infer":
      // infer also serves POST /feedback and takes inference.feedback events: one key issues and verifies the ids.
      return [secretEnv("FLYWHEEL_REQUEST_ID_SECRET", SECRETS.requestIdKey), logDirEnv];
    case "launchTraining":
      // Reads a spec's dataWindow from the log and writes it as a dataset where the job mounts the artifacts PVC.
      return [logDirEnv, { name: "FLYWHEEL_WINDOW_DATASETS_DIR", value: WINDOW_DATASETS_DIR }];
    case "retrainOnDrift":
      // The new-data policy counts labelled feedback in the log.
      return [logDirEnv];
    case "logModel":
      return [{ name: "FLYWHEEL_ARTIFACTS_PVC_DIR", value: ARTIFACTS_MOUNT }];
    default:
      return [];
  }
}

const logDirEnv = { name: "FLYWHEEL_INFERENCE_LOG_DIR", value: INFERENCE_LOG_MOUNT };
/** Under the job's own artifacts mount, so a file:// location written here is the same path inside the job. */
const WINDOW_DATASETS_DIR = `${ARTIFACT_MOUNT}/datasets`;

/**
 * Shared volumes a function mounts: infer writes the inference log; launch-training and retrain-on-drift only read it
 * (read-only); launch-training also writes window datasets to the artifacts PVC that training jobs mount.
 */
function sharedVolumes(target: FunctionTarget): { volumes: unknown[]; mounts: unknown[] } {
  const log = { name: "inference-log", persistentVolumeClaim: { claimName: INFERENCE_LOG.claim, ...(target === "infer" ? {} : { readOnly: true }) } };
  const logMount = { name: "inference-log", mountPath: INFERENCE_LOG.mountPath, ...(target === "infer" ? {} : { readOnly: true }) };
  switch (target) {
    case "infer":
    case "retrainOnDrift":
      return { volumes: [log], mounts: [logMount] };
    case "launchTraining":
      return {
        volumes: [log, { name: "artifacts", persistentVolumeClaim: { claimName: TRAINING_ARTIFACTS_CLAIM } }],
        mounts: [logMount, { name: "artifacts", mountPath: ARTIFACT_MOUNT }],
      };
    case "logModel":
      return {
        volumes: [{ name: "artifacts", persistentVolumeClaim: { claimName: TRAINING_ARTIFACTS_CLAIM, readOnly: true } }],
        mounts: [{ name: "artifacts", mountPath: ARTIFACTS_MOUNT, readOnly: true }],
      };
    default:
      return { volumes: [], mounts: [] };
  }
}

/**
 * Knative gives a pod its revision's timeoutSeconds as termination grace period; the entry drains for a little less,
 * so a request still running is cut by the function (and logged) rather than by the kubelet's SIGKILL.
 */
function drainEnv(s: FunctionSettings): { name: string; value: string } {
  return { name: "FLYWHEEL_DRAIN_SECONDS", value: String(Math.max(1, s.timeoutSeconds - 5)) };
}

/**
 * log-model reads a Kubernetes job's outputs (metrics.json, the model, run.json) where the job wrote them, the
 * training artifacts PVC, mounted read-only. Knative needs its PVC feature flag for this
 * (config-features kubernetes.podspec-persistent-volume-claim, which ansible/group_vars/all/components.yml enables).
 */
const ARTIFACTS_MOUNT = "/var/lib/flywheel/artifacts";

export function knativeService(target: FunctionTarget, s: FunctionSettings): K8sObject {
  const name = TARGETS[target].service;
  const labels: Record<string, string> = {};
  // Cluster-only unless it must be reached from outside (interfaces.md §2).
  if (!TARGETS[target].public) labels["networking.knative.dev/visibility"] = "cluster-local";
  const volumes: unknown[] = [
    { name: "tmp", emptyDir: { sizeLimit: "512Mi" } },
    { name: "ca", configMap: { name: CA_CONFIG_MAP, optional: true } },
  ];
  const mounts: unknown[] = [
    { name: "tmp", mountPath: "/tmp" },
    { name: "ca", mountPath: "/etc/flywheel/ca", readOnly: true },
  ];
  const shared = sharedVolumes(target);
  volumes.push(...shared.volumes);
  mounts.push(...shared.mounts);
  const policies = policiesWiring(target);
  volumes.push(...policies.volumes);
  mounts.push(...policies.mounts);
  return {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { ...meta(name, NAMESPACE, "function"), labels: { ...meta(name, NAMESPACE, "function").labels, ...labels } },
    spec: {
      template: {
        metadata: {
          labels: { [FUNCTION_POD_LABEL]: name, "app.kubernetes.io/name": "flywheel", "app.kubernetes.io/component": "function" },
          annotations: {
            "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
            "autoscaling.knative.dev/metric": "concurrency",
            "autoscaling.knative.dev/target": String(s.target),
            "autoscaling.knative.dev/min-scale": "0",
            "autoscaling.knative.dev/max-scale": String(s.maxScale),
            "autoscaling.knative.dev/scale-to-zero-pod-retention-period": "1m",
            ...policies.annotations,
          },
        },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: USES_KUBERNETES_API.has(target),
          containerConcurrency: s.containerConcurrency,
          timeoutSeconds: s.timeoutSeconds,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "function",
              image: IMAGE,
              ports: [{ name: "http1", containerPort: 8080 }],
              env: [{ name: "FUNCTION_TARGET", value: target }, drainEnv(s), ...extraEnv(target), ...policies.env, ...databaseEnv(target)],
              envFrom: [{ configMapRef: { name: CONFIG_MAP } }],
              resources: {
                requests: { cpu: s.cpu.request, memory: s.memory.request },
                limits: { cpu: s.cpu.limit, memory: s.memory.limit },
              },
              readinessProbe: { httpGet: { path: "/readyz" }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: "/healthz" }, periodSeconds: 15, failureThreshold: 3 },
              securityContext: {
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/**
 * The inference log and labelled feedback rows (platform/inference-log's day-partitioned layout) on a volume every
 * infer replica mounts: a sampled record written by the replica the Trigger picked is found by the replica that gets
 * its feedback, and live accuracy is read over all of them. ReadWriteMany; kept by undeploy unless asked.
 */
export const INFERENCE_LOG = { claim: "flywheel-inference-log", mountPath: INFERENCE_LOG_MOUNT } as const;


export function inferenceLogVolume(): K8sObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: meta(INFERENCE_LOG.claim, NAMESPACE, "infer", { labels: { [RETAIN_LABEL]: "data" } }),
    spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "10Gi" } } },
  };
}

/**
 * Where Kubernetes training jobs write their outputs (artifactUri pvc://flywheel-artifacts/<job>; see
 * platform/training/kubernetes/render.ts). ReadWriteMany: every rank and the driver of a job mount it at once.
 */
export function trainingArtifactsVolume(): K8sObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: meta(TRAINING_ARTIFACTS_CLAIM, NAMESPACE, "launch-training", { labels: { [RETAIN_LABEL]: "data" } }),
    spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "20Gi" } } },
  };
}

/**
 * A headless Service over every function pod's own port, for Prometheus: scraping through the Knative route would
 * count as traffic and keep scaled-to-zero functions up. No endpoints while a function is at zero, as it should be.
 */
export function metricsService(): K8sObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("flywheel-function-metrics", NAMESPACE, "monitoring"),
    spec: {
      clusterIP: "None",
      selector: { "app.kubernetes.io/name": "flywheel", "app.kubernetes.io/component": "function" },
      ports: [{ name: "metrics", port: 8080, targetPort: 8080, protocol: "TCP" }],
    },
  };
}

export function functionObjects(): K8sObject[] {
  return SERVICES.flatMap((s) => [serviceAccount(s.service, USES_KUBERNETES_API.has(s.target)), knativeService(s.target, s.settings)]);
}
