// Which pod is which rank for each training kind, which container holds the trainer, and what a failed pod says.
import * as z from "zod";
import { LABELS, type KubeObject, type TrainingObjectKind } from "./meta.ts";

/** Container that runs the training code, per kind (PyTorchJob requires `pytorch`; TrainJob's runtime names it `node`). */
export const TRAINER_CONTAINER: Readonly<Record<TrainingObjectKind, string>> = {
  Job: "trainer",
  PyTorchJob: "pytorch",
  TrainJob: "node",
  SparkApplication: "spark-kubernetes-driver",
};

/** Selector for a job's pods: our template labels, except TrainJob whose pods come from the runtime's JobSet. */
export function podSelector(kind: TrainingObjectKind, jobId: string, objectName: string): string {
  if (kind === "TrainJob") return `jobset.sigs.k8s.io/jobset-name=${objectName}`;
  if (kind === "SparkApplication") return `${LABELS.jobId}=${jobId},spark-role=driver`;
  return `${LABELS.jobId}=${jobId}`;
}

/** The node/replica index a pod stands for (its "rank" in logs and failures). */
export function podRank(kind: TrainingObjectKind, pod: KubeObject): number {
  const l = pod.metadata.labels ?? {};
  if (kind === "PyTorchJob") {
    const type = (l["training.kubeflow.org/replica-type"] ?? "").toLowerCase();
    const index = Number(l["training.kubeflow.org/replica-index"] ?? "0");
    return type === "master" ? 0 : index + 1;
  }
  if (kind === "TrainJob") return Number(l["batch.kubernetes.io/job-completion-index"] ?? l["jobset.sigs.k8s.io/job-index"] ?? "0");
  return 0;
}

const ContainerStatuses = z.lazy(() =>
  z
    .object({
      containerStatuses: z
        .array(
          z.object({
            name: z.string(),
            state: z.object({ terminated: z.object({ exitCode: z.number(), reason: z.string().optional() }).optional() }).passthrough().optional(),
            lastState: z.object({ terminated: z.object({ exitCode: z.number() }).optional() }).passthrough().optional(),
          }),
        )
        .catch([]),
    })
    .passthrough()
    .catch({ containerStatuses: [] }),
);

/** Exit code of the trainer container when it terminated non-zero. */
export function failedExitCode(kind: TrainingObjectKind, pod: KubeObject): number | undefined {
  const cs = ContainerStatuses.parse(pod.status ?? {}).containerStatuses.find((c) => c.name === TRAINER_CONTAINER[kind]);
  const code = cs?.state?.terminated?.exitCode ?? cs?.lastState?.terminated?.exitCode;
  return code !== undefined && code !== 0 ? code : undefined;
}

const created = (p: KubeObject): number => {
  const t = p.metadata.creationTimestamp;
  return t instanceof Date ? t.getTime() : Date.parse(t ?? "") || 0;
};

/** The newest pod of a rank (a retried rank has several). */
export function podForRank(kind: TrainingObjectKind, pods: readonly KubeObject[], rank: number): KubeObject | undefined {
  return pods.filter((p) => podRank(kind, p) === rank).sort((a, b) => created(b) - created(a))[0];
}
