// The ApiServerSource that reports training status in Knative mode (watching the same kinds the embedded watch does).
import { LABELS, MANAGED_BY, TRAINING_KINDS_K8S } from "../../platform/training/kubernetes/meta.ts";

export interface ApiServerSourceOptions {
  readonly namespace: string;
  readonly ddpOperator: "pytorchjob" | "trainjob";
  /** Needs get/list/watch on the watched kinds: the training Role covers it. */
  readonly serviceAccountName?: string;
  /** Where events go: launch-training handles dev.knative.apiserver.* as well as training.requested. */
  readonly sinkService?: string;
}

export function trainingStatusSource(o: ApiServerSourceOptions): Record<string, unknown> {
  const managed = { matchLabels: { [LABELS.managedBy]: MANAGED_BY } };
  const ddp = o.ddpOperator === "trainjob" ? TRAINING_KINDS_K8S.TrainJob : TRAINING_KINDS_K8S.PyTorchJob;
  return {
    apiVersion: "sources.knative.dev/v1",
    kind: "ApiServerSource",
    metadata: { name: "flywheel-training-status", namespace: o.namespace, labels: { "app.kubernetes.io/part-of": "flywheel" } },
    spec: {
      mode: "Resource",
      serviceAccountName: o.serviceAccountName ?? "flywheel-training",
      resources: [
        { apiVersion: "batch/v1", kind: "Job", selector: managed },
        { apiVersion: ddp.apiVersion, kind: o.ddpOperator === "trainjob" ? "TrainJob" : "PyTorchJob", selector: managed },
        { apiVersion: TRAINING_KINDS_K8S.SparkApplication.apiVersion, kind: "SparkApplication", selector: managed },
        // Pods report image pull failures and the start of work; only Flywheel's pods carry the job-id label.
        { apiVersion: "v1", kind: "Pod", selector: { matchExpressions: [{ key: LABELS.jobId, operator: "Exists" }] } },
      ],
      sink: { ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: o.sinkService ?? "launch-training" } },
    },
  };
}
