// The one RBAC table: what each function's code calls on the Kubernetes API. Roles are generated from it and the
// RBAC test checks the rendered Roles against it and it against the code's own kind tables.
import { TRAINING_KINDS_K8S } from "../training/kubernetes/meta.ts";
import { SERVING_RBAC } from "../serving/rbac.ts";
import { TRAINING_RBAC } from "../training/kubernetes/rbac.ts";

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const READ = ["get", "list", "watch"] as const;

/** The training backend's own table (platform/training/kubernetes/rbac.ts), one rule per resource it calls. */
function trainingRule(resource: string): PolicyRule {
  const r = TRAINING_RBAC.find((x) => x.resource === resource);
  if (!r) throw new Error(`platform/training/kubernetes/rbac.ts has no rule for ${resource}`);
  return { apiGroups: [r.apiGroup], resources: [r.resource], verbs: [...r.verbs] };
}

const kind = (k: keyof typeof TRAINING_KINDS_K8S, verbs: readonly string[]): PolicyRule => ({
  apiGroups: [TRAINING_KINDS_K8S[k].group],
  resources: [TRAINING_KINDS_K8S[k].plural],
  verbs,
});

/** Logs of a job are its pods' logs (flywheel logs ID --rank N). */
const POD_LOGS: readonly PolicyRule[] = [trainingRule("pods"), trainingRule("pods/log")];

export const TRAINING_OPERATORS = ["pytorchjob", "trainjob"] as const;
export type TrainingOperator = (typeof TRAINING_OPERATORS)[number];
export const SERVING_BACKENDS = ["seldon", "kserve"] as const;
export type ClusterServingBackend = (typeof SERVING_BACKENDS)[number];

const OPERATOR_KIND = { pytorchjob: "PyTorchJob", trainjob: "TrainJob" } as const satisfies Record<TrainingOperator, keyof typeof TRAINING_KINDS_K8S>;

/** Serving CRs per backend (interfaces.md §4, §5). */
export const SERVING_RESOURCES: Readonly<Record<ClusterServingBackend, PolicyRule>> = {
  seldon: { apiGroups: ["mlops.seldon.io"], resources: ["models", "pipelines", "experiments"], verbs: [] },
  kserve: { apiGroups: ["serving.kserve.io"], resources: ["inferenceservices", "inferencegraphs"], verbs: [] },
};

export interface RoleDecl {
  readonly name: string;
  /** ServiceAccount bound (a function's Knative Service name, or a source's account). */
  readonly serviceAccount: string;
  readonly rules: readonly PolicyRule[];
}

/** Roles every install has: Job and SparkApplication training, pod logs, and the status source. */
export function baseRoles(): RoleDecl[] {
  return [
    {
      name: "launch-training",
      serviceAccount: "launch-training",
      rules: [trainingRule(TRAINING_KINDS_K8S.Job.plural), trainingRule(TRAINING_KINDS_K8S.SparkApplication.plural), ...POD_LOGS],
    },
    // The UI lists jobs and streams their logs; it never creates or deletes them.
    // ...and shows each function's health from its Knative Service's Ready condition (get and list only).
    {
      name: "ui",
      serviceAccount: "ui",
      rules: [kind("Job", READ), kind("SparkApplication", READ), ...POD_LOGS, { apiGroups: ["serving.knative.dev"], resources: ["services"], verbs: ["get", "list"] }],
    },
    // ApiServerSource in Resource mode needs get/list/watch on what it watches (the training kinds and their pods).
    {
      name: "training-status-source",
      serviceAccount: "training-status-source",
      rules: [kind("Job", READ), kind("SparkApplication", READ), { apiGroups: [""], resources: ["pods"], verbs: READ }],
    },
  ];
}

/** Extra Roles of a training operator component. */
export function trainingRoles(op: TrainingOperator): RoleDecl[] {
  const k = OPERATOR_KIND[op];
  return [
    { name: `launch-training-${op}`, serviceAccount: "launch-training", rules: [trainingRule(TRAINING_KINDS_K8S[k].plural)] },
    { name: `ui-${op}`, serviceAccount: "ui", rules: [kind(k, READ)] },
    { name: `training-status-source-${op}`, serviceAccount: "training-status-source", rules: [kind(k, READ)] },
  ];
}

/** Extra Roles of a serving backend component: deploy-model manages the CRs, the UI and infer read them. */
export function servingRoles(backend: ClusterServingBackend): RoleDecl[] {
  const r = SERVING_RESOURCES[backend];
  return [
    // From the calls the backends make (platform/serving/rbac.ts); test/integration/serving/rbac-calls checks them.
    { name: `deploy-model-${backend}`, serviceAccount: "deploy-model", rules: [{ ...r, verbs: [...SERVING_RBAC.deployModel] }] },
    { name: `ui-${backend}`, serviceAccount: "ui", rules: [{ ...r, verbs: READ }] },
    { name: `infer-${backend}`, serviceAccount: "infer", rules: [{ ...r, verbs: [...SERVING_RBAC.infer] }] },
  ];
}
