// Every Kubernetes call the training backend makes (apiGroup, resource, verbs): the source of its least-privilege Role.

export interface RbacRule {
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly string[];
}

/**
 * Namespaced only, no secrets: create/inspect/watch/delete the four training kinds, read pods and their logs
 * (status enrichment, failure exit codes and log tails). Tests drive the backend against the fake API server and
 * check that the calls it makes are exactly these.
 */
export const TRAINING_RBAC: readonly RbacRule[] = [
  { apiGroup: "batch", resource: "jobs", verbs: ["create", "get", "list", "watch", "delete"] },
  { apiGroup: "kubeflow.org", resource: "pytorchjobs", verbs: ["create", "get", "list", "watch", "delete"] },
  { apiGroup: "trainer.kubeflow.org", resource: "trainjobs", verbs: ["create", "get", "list", "watch", "delete"] },
  { apiGroup: "sparkoperator.k8s.io", resource: "sparkapplications", verbs: ["create", "get", "list", "watch", "delete"] },
  { apiGroup: "", resource: "pods", verbs: ["get", "list", "watch"] },
  { apiGroup: "", resource: "pods/log", verbs: ["get"] },
];

/** The Role the training ServiceAccount needs, as a plain manifest (manifests/ renders it from this table). */
export function trainingRole(namespace: string, name = "flywheel-training"): Record<string, unknown> {
  const byGroup = new Map<string, RbacRule[]>();
  for (const r of TRAINING_RBAC) byGroup.set(`${r.apiGroup}|${r.verbs.join(",")}`, [...(byGroup.get(`${r.apiGroup}|${r.verbs.join(",")}`) ?? []), r]);
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "flywheel", "app.kubernetes.io/component": "training" } },
    rules: [...byGroup.values()].map((rules) => ({
      apiGroups: [rules[0]?.apiGroup ?? ""],
      resources: rules.map((r) => r.resource),
      verbs: [...(rules[0]?.verbs ?? [])],
    })),
  };
}
