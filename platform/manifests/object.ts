// The Kubernetes object shape the generators build, and metadata helpers.
export interface K8sMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: K8sMetadata;
  [field: string]: unknown;
}

export function meta(name: string, namespace: string | undefined, component: string, extra: Partial<K8sMetadata> = {}): K8sMetadata {
  const m: K8sMetadata = {
    name,
    labels: { "app.kubernetes.io/name": "flywheel", "app.kubernetes.io/component": component, ...extra.labels },
  };
  if (namespace) m.namespace = namespace;
  if (extra.annotations) m.annotations = extra.annotations;
  return m;
}

/** Kinds with no namespace (kustomize and kubectl treat these as cluster-scoped). */
export const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "ClusterIssuer",
  "Bundle",
  "ClusterServingRuntime",
  "ClusterTrainingRuntime",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "MutatingWebhookConfiguration",
  "ValidatingWebhookConfiguration",
]);
