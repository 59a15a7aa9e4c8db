// The exact object each training kind becomes: batch/v1 Job, PyTorchJob or TrainJob, SparkApplication (interfaces.md §7-8).
import type { TrainingSpec } from "../../specs/training.ts";
import type { TriggerRef } from "../../events/catalogue.ts";
import { jobEnv } from "../local/env.ts";
import { ANNOTATIONS, LABELS, MANAGED_BY, TRAINING_KINDS_K8S, labelValue, type TrainingObjectKind } from "./meta.ts";

export interface RenderOptions {
  readonly namespace: string;
  readonly ddpOperator: "pytorchjob" | "trainjob";
  /** PVC mounted at /artifacts; each job writes under /artifacts/<jobId> and artifactUri is pvc://<claim>/<jobId>. */
  readonly artifactPvc: string;
  readonly trackingUri: string | undefined;
  /** Secret (key `token`) holding MLFLOW_TRACKING_TOKEN; referenced by the pod, never read by the platform. */
  readonly registryTokenSecret: string | undefined;
  readonly sparkVersion: string;
  readonly sparkServiceAccount: string;
  /** Packed venv (venv-pack) shipped with deps.archives when the spec's env has no FLYWHEEL_SPARK_ARCHIVE. */
  readonly sparkArchive: string;
  readonly ttlSecondsAfterFinished: number;
}

export interface RenderRequest {
  readonly jobId: string;
  readonly spec: TrainingSpec;
  readonly trigger: TriggerRef;
  readonly causeEventId: string;
  readonly traceparent?: string | undefined;
}

export type KubeManifest = { apiVersion: string; kind: TrainingObjectKind; metadata: Record<string, unknown>; spec: Record<string, unknown> };

export const ARTIFACT_MOUNT = "/artifacts";

export const artifactUriFor = (o: RenderOptions, jobId: string): string => `pvc://${o.artifactPvc}/${jobId}`;

export function kindFor(spec: TrainingSpec, o: Pick<RenderOptions, "ddpOperator">): TrainingObjectKind {
  if (spec.kind === "single") return "Job";
  if (spec.kind === "spark") return "SparkApplication";
  return o.ddpOperator === "trainjob" ? "TrainJob" : "PyTorchJob";
}

/** The program to run: command (or the source entry run with python) plus args. Throws a message naming the field. */
function program(spec: TrainingSpec): { command: string[]; args: string[] } {
  if (spec.command) return { command: [...spec.command], args: [...spec.args] };
  const entry = spec.source ? ("entry" in spec.source ? spec.source.entry : spec.source.path) : undefined;
  if (!entry) throw new RenderError("command", "either command or source is required");
  return { command: entry.endsWith(".py") ? ["python3", entry] : [entry], args: [...spec.args] };
}

export class RenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RenderError";
  }
}

function envList(req: RenderRequest, o: RenderOptions): Record<string, unknown>[] {
  const env = jobEnv(req.jobId, req.spec, `${ARTIFACT_MOUNT}/${req.jobId}`, { trackingUri: o.trackingUri, token: undefined });
  const list: Record<string, unknown>[] = Object.entries(env).map(([name, value]) => ({ name, value }));
  if (o.registryTokenSecret) {
    list.push({ name: "MLFLOW_TRACKING_TOKEN", valueFrom: { secretKeyRef: { name: o.registryTokenSecret, key: "token", optional: true } } });
  }
  return list;
}

function resources(spec: TrainingSpec): Record<string, unknown> | undefined {
  const r = spec.resources;
  if (!r) return undefined;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cpu) requests.cpu = limits.cpu = r.cpu;
  if (r.memory) requests.memory = limits.memory = r.memory;
  if (r.gpu) limits["nvidia.com/gpu"] = String(r.gpu);
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

function metadata(req: RenderRequest, o: RenderOptions): { metadata: Record<string, unknown>; labels: Record<string, string> } {
  const labels = {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.jobId]: req.jobId,
    [LABELS.model]: labelValue(req.spec.model),
    [LABELS.trigger]: req.trigger.reason,
  };
  const annotations: Record<string, string> = {
    [ANNOTATIONS.spec]: JSON.stringify(req.spec),
    [ANNOTATIONS.trigger]: JSON.stringify(req.trigger),
    [ANNOTATIONS.cause]: req.causeEventId,
    [ANNOTATIONS.artifactUri]: artifactUriFor(o, req.jobId),
  };
  if (req.traceparent) annotations[ANNOTATIONS.traceparent] = req.traceparent;
  return { metadata: { name: req.jobId, namespace: o.namespace, labels, annotations }, labels };
}

const artifactVolume = (o: RenderOptions) => ({ name: "artifacts", persistentVolumeClaim: { claimName: o.artifactPvc } });
const artifactMount = { name: "artifacts", mountPath: ARTIFACT_MOUNT };

function podTemplate(req: RenderRequest, o: RenderOptions, labels: Record<string, string>, container: string, command: string[], args: string[]) {
  if (!req.spec.image) throw new RenderError("image", "is required on the Kubernetes backend");
  const res = resources(req.spec);
  return {
    metadata: { labels },
    spec: {
      restartPolicy: "Never",
      // Training code needs no Kubernetes API access.
      automountServiceAccountToken: false,
      containers: [
        { name: container, image: req.spec.image, command, args, env: envList(req, o), ...(res ? { resources: res } : {}), volumeMounts: [artifactMount] },
      ],
      volumes: [artifactVolume(o)],
    },
  };
}

/** torchrun reads the PET_* variables the operator/runtime sets; --no-python runs any argv as the worker. */
const underTorchrun = (command: string[]): string[] => (command[0] === "torchrun" ? command : ["torchrun", "--no-python", ...command]);

/** Spark wants 512m / 4g, not Kubernetes' 512Mi / 4Gi. */
function sparkMemory(q: string | undefined): string {
  if (!q) return "1g";
  const m = /^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) return "1g";
  const unit = { Ki: "k", k: "k", Mi: "m", M: "m", Gi: "g", G: "g", Ti: "t", T: "t" }[m[2] ?? "M"] ?? "m";
  return `${m[1]}${unit}`;
}

export function renderTrainingObject(req: RenderRequest, o: RenderOptions): KubeManifest {
  const kind = kindFor(req.spec, o);
  const { apiVersion } = TRAINING_KINDS_K8S[kind];
  const { metadata: md, labels } = metadata(req, o);
  const { command, args } = program(req.spec);
  const spec = req.spec;
  switch (kind) {
    case "Job":
      return {
        apiVersion,
        kind,
        metadata: md,
        spec: {
          // A failed training is reported, not retried: a retry is a new training.requested.
          backoffLimit: 0,
          activeDeadlineSeconds: spec.timeoutSeconds,
          ttlSecondsAfterFinished: o.ttlSecondsAfterFinished,
          template: podTemplate(req, o, labels, "trainer", command, args),
        },
      };
    case "PyTorchJob": {
      const cmd = spec.procsPerReplica > 1 ? underTorchrun(command) : command;
      const replica = (replicas: number) => ({ replicas, restartPolicy: "Never", template: podTemplate(req, o, labels, "pytorch", cmd, args) });
      return {
        apiVersion,
        kind,
        metadata: md,
        spec: {
          nprocPerNode: String(spec.procsPerReplica),
          runPolicy: { cleanPodPolicy: "None", backoffLimit: 0, activeDeadlineSeconds: spec.timeoutSeconds, ttlSecondsAfterFinished: o.ttlSecondsAfterFinished },
          pytorchReplicaSpecs: { Master: replica(1), ...(spec.replicas > 1 ? { Worker: replica(spec.replicas - 1) } : {}) },
        },
      };
    }
    case "TrainJob": {
      if (!spec.image) throw new RenderError("image", "is required on the Kubernetes backend");
      const res = resources(spec);
      return {
        apiVersion,
        kind,
        metadata: md,
        spec: {
          runtimeRef: { apiGroup: "trainer.kubeflow.org", kind: "ClusterTrainingRuntime", name: "torch-distributed" },
          activeDeadlineSeconds: spec.timeoutSeconds,
          trainer: {
            image: spec.image,
            command: underTorchrun(command),
            args,
            env: envList(req, o).filter((e) => "value" in e),
            numNodes: spec.replicas,
            numProcPerNode: spec.procsPerReplica,
            ...(res ? { resourcesPerNode: res } : {}),
          },
        },
      };
    }
    case "SparkApplication":
      return renderSpark(req, o, md, labels, command, args);
  }
}

function renderSpark(req: RenderRequest, o: RenderOptions, md: Record<string, unknown>, labels: Record<string, string>, command: string[], args: string[]): KubeManifest {
  const spec = req.spec;
  if (!spec.image) throw new RenderError("image", "is required on the Kubernetes backend");
  // The application file is the script, not its interpreter: spark-submit runs it with PYSPARK_PYTHON.
  const [first = "", ...rest] = command[0]?.startsWith("python") ? command.slice(1) : command;
  const mainApplicationFile = /^[a-z0-9]+:\/\//.test(first) ? first : `local://${first.startsWith("/") ? first : `/app/${first}`}`;
  const archive = spec.env.FLYWHEEL_SPARK_ARCHIVE ?? o.sparkArchive;
  const python = "./environment/bin/python";
  const env = [...envList(req, o).filter((e) => "value" in e), { name: "PYSPARK_PYTHON", value: python }];
  const memory = sparkMemory(spec.resources?.memory);
  return {
    apiVersion: TRAINING_KINDS_K8S.SparkApplication.apiVersion,
    kind: "SparkApplication",
    metadata: md,
    spec: {
      type: "Python",
      pythonVersion: "3",
      mode: "cluster",
      image: spec.image,
      sparkVersion: o.sparkVersion,
      mainApplicationFile,
      arguments: [...rest, ...args],
      deps: { archives: [`${archive}#environment`] },
      sparkConf: { "spark.pyspark.python": python, "spark.kubernetes.driverEnv.PYSPARK_PYTHON": python, "spark.executorEnv.PYSPARK_PYTHON": python },
      restartPolicy: { type: "Never" },
      timeToLiveSeconds: o.ttlSecondsAfterFinished,
      volumes: [artifactVolume(o)],
      driver: { cores: 1, memory, serviceAccount: o.sparkServiceAccount, labels, env, volumeMounts: [artifactMount] },
      executor: { instances: spec.executors ?? 2, cores: 1, memory, labels, env, volumeMounts: [artifactMount] },
    },
  };
}
