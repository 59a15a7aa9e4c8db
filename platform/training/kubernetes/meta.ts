// Labels, annotations and object kinds of training objects, and reading a JobRecord back from an object.
import * as z from "zod";
import { TriggerRefSchema } from "../../events/catalogue.ts";
import type { JobRecord } from "../../ports.ts";
import { TrainingSpecSchema, type TrainingSpec } from "../../specs/training.ts";

export const LABELS = {
  managedBy: "app.kubernetes.io/managed-by",
  jobId: "flywheel.dev/job-id",
  model: "flywheel.dev/model",
  trigger: "flywheel.dev/trigger",
} as const;

export const ANNOTATIONS = {
  spec: "flywheel.dev/spec",
  trigger: "flywheel.dev/trigger",
  cause: "flywheel.dev/cause-event-id",
  traceparent: "flywheel.dev/traceparent",
  artifactUri: "flywheel.dev/artifact-uri",
} as const;

export const MANAGED_BY = "flywheel";

/** The four kinds of object training creates, with their API coordinates. */
export const TRAINING_KINDS_K8S = {
  Job: { group: "batch", version: "v1", plural: "jobs", apiVersion: "batch/v1" },
  PyTorchJob: { group: "kubeflow.org", version: "v1", plural: "pytorchjobs", apiVersion: "kubeflow.org/v1" },
  TrainJob: { group: "trainer.kubeflow.org", version: "v1alpha1", plural: "trainjobs", apiVersion: "trainer.kubeflow.org/v1alpha1" },
  SparkApplication: { group: "sparkoperator.k8s.io", version: "v1beta2", plural: "sparkapplications", apiVersion: "sparkoperator.k8s.io/v1beta2" },
} as const;
export type TrainingObjectKind = keyof typeof TRAINING_KINDS_K8S;
export const isTrainingObjectKind = (v: unknown): v is TrainingObjectKind => typeof v === "string" && v in TRAINING_KINDS_K8S;

/** Loose view of any Kubernetes object (status is read defensively by the mapping). */
export const KubeObjectSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z
      .object({
        name: z.string().optional(),
        namespace: z.string().optional(),
        uid: z.string().optional(),
        resourceVersion: z.string().optional(),
        creationTimestamp: z.union([z.string(), z.date()]).optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .passthrough()
      .default({}),
    spec: z.unknown().optional(),
    status: z.unknown().optional(),
  })
  .passthrough();
export type KubeObject = z.output<typeof KubeObjectSchema>;

/** Label values: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(v: string): string {
  const cleaned = v.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, "").replace(/[^A-Za-z0-9]+$/, "");
}

export function ranksFor(spec: TrainingSpec): number {
  // On Kubernetes a "rank" whose log can be read is a pod: one per ddp replica (node), one driver for spark.
  return spec.kind === "ddp" ? spec.replicas : 1;
}

const toMillis = (v: string | Date | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const t = v instanceof Date ? v.getTime() : Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
};
export { toMillis };

/** The job an object stands for, from its labels and annotations; undefined for objects Flywheel did not create. */
export function recordFromObject(obj: KubeObject): Omit<JobRecord, "state" | "history"> | undefined {
  const m = obj.metadata;
  const id = m.labels?.[LABELS.jobId];
  const rawSpec = m.annotations?.[ANNOTATIONS.spec];
  if (!id || !rawSpec || !isTrainingObjectKind(obj.kind)) return undefined;
  let spec: TrainingSpec;
  let trigger: JobRecord["trigger"];
  try {
    spec = TrainingSpecSchema.parse(JSON.parse(rawSpec));
    const t = TriggerRefSchema.safeParse(JSON.parse(m.annotations?.[ANNOTATIONS.trigger] ?? "{}"));
    trigger = t.success ? t.data : { reason: "manual" };
  } catch {
    return undefined;
  }
  return {
    id,
    model: spec.model,
    kind: spec.kind,
    backend: "kubernetes",
    spec,
    trigger,
    createdAt: toMillis(m.creationTimestamp) ?? 0,
    ranks: ranksFor(spec),
    artifactUri: m.annotations?.[ANNOTATIONS.artifactUri],
    object: { apiVersion: TRAINING_KINDS_K8S[obj.kind].apiVersion, kind: obj.kind, name: m.name ?? id, namespace: m.namespace ?? "" },
  };
}
