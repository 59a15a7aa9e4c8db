// Hand-checked JSON Schema subsets of the core Kubernetes kinds the manifests use. There is no Kubernetes OpenAPI
// document on these machines (no cluster, no network), so these were written from the API reference for the fields
// Flywheel sets; unknown fields are rejected so a typo fails the test.
import { Ajv, type ValidateFunction } from "ajv";

const str = { type: "string" };
const strMap = { type: "object", additionalProperties: { type: "string" } };
const dns1123 = { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", maxLength: 253 };
const labelSelector = {
  type: "object",
  additionalProperties: false,
  properties: {
    matchLabels: strMap,
    matchExpressions: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["key", "operator"],
        properties: { key: str, operator: { enum: ["In", "NotIn", "Exists", "DoesNotExist"] }, values: { type: "array", items: str } },
      },
    },
  },
};
const metadata = (namespaced: boolean) => ({
  type: "object",
  additionalProperties: false,
  required: namespaced ? ["name", "namespace"] : ["name"],
  properties: { name: dns1123, namespace: namespaced ? dns1123 : { not: {} }, labels: strMap, annotations: strMap },
});
const obj = (apiVersion: string, kind: string, namespaced: boolean, properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  additionalProperties: false,
  required: ["apiVersion", "kind", "metadata", ...required],
  properties: { apiVersion: { const: apiVersion }, kind: { const: kind }, metadata: metadata(namespaced), ...properties },
});
const rule = {
  type: "object",
  additionalProperties: false,
  required: ["apiGroups", "resources", "verbs"],
  properties: {
    apiGroups: { type: "array", items: str },
    resources: { type: "array", items: str, minItems: 1 },
    verbs: { type: "array", minItems: 1, items: { enum: ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] } },
  },
};
const port = {
  type: "object",
  additionalProperties: false,
  properties: { protocol: { enum: ["TCP", "UDP", "SCTP"] }, port: { anyOf: [{ type: "integer", minimum: 1, maximum: 65535 }, str] }, endPort: { type: "integer" } },
};
const peer = {
  type: "object",
  additionalProperties: false,
  properties: { podSelector: labelSelector, namespaceSelector: labelSelector, ipBlock: { type: "object" } },
};

export const CORE_SCHEMAS: Record<string, Record<string, unknown>> = {
  "v1/Namespace": obj("v1", "Namespace", false, {}),
  "v1/ConfigMap": obj("v1", "ConfigMap", true, { data: strMap, binaryData: strMap, immutable: { type: "boolean" } }),
  "v1/ServiceAccount": obj("v1", "ServiceAccount", true, { automountServiceAccountToken: { type: "boolean" }, imagePullSecrets: { type: "array" } }),
  "v1/PersistentVolumeClaim": obj("v1", "PersistentVolumeClaim", true, {
    spec: {
      type: "object",
      additionalProperties: false,
      required: ["accessModes", "resources"],
      properties: {
        accessModes: { type: "array", items: { enum: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] } },
        resources: { type: "object", additionalProperties: false, properties: { requests: strMap, limits: strMap } },
        storageClassName: str,
      },
    },
  }, ["spec"]),
  "v1/Service": obj("v1", "Service", true, {
    spec: {
      type: "object",
      additionalProperties: false,
      properties: {
        clusterIP: str,
        type: { enum: ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] },
        selector: strMap,
        ports: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["port"],
            properties: { name: str, port: { type: "integer" }, targetPort: { anyOf: [{ type: "integer" }, str] }, protocol: { enum: ["TCP", "UDP", "SCTP"] } },
          },
        },
      },
    },
  }, ["spec"]),
  "rbac.authorization.k8s.io/v1/Role": obj("rbac.authorization.k8s.io/v1", "Role", true, { rules: { type: "array", items: rule } }),
  "rbac.authorization.k8s.io/v1/RoleBinding": obj("rbac.authorization.k8s.io/v1", "RoleBinding", true, {
    roleRef: {
      type: "object",
      additionalProperties: false,
      required: ["apiGroup", "kind", "name"],
      properties: { apiGroup: { const: "rbac.authorization.k8s.io" }, kind: { enum: ["Role", "ClusterRole"] }, name: str },
    },
    subjects: {
      type: "array",
      items: { type: "object", additionalProperties: false, required: ["kind", "name"], properties: { kind: { enum: ["ServiceAccount", "User", "Group"] }, name: str, namespace: str, apiGroup: str } },
    },
  }, ["roleRef"]),
  "networking.k8s.io/v1/NetworkPolicy": obj("networking.k8s.io/v1", "NetworkPolicy", true, {
    spec: {
      type: "object",
      additionalProperties: false,
      required: ["podSelector"],
      properties: {
        podSelector: labelSelector,
        policyTypes: { type: "array", items: { enum: ["Ingress", "Egress"] } },
        ingress: { type: "array", items: { type: "object", additionalProperties: false, properties: { from: { type: "array", items: peer }, ports: { type: "array", items: port } } } },
        egress: { type: "array", items: { type: "object", additionalProperties: false, properties: { to: { type: "array", items: peer }, ports: { type: "array", items: port } } } },
      },
    },
  }, ["spec"]),
};

let compiled: Map<string, ValidateFunction> | undefined;

/** Errors for a core object, or undefined when no core schema covers its apiVersion/kind. */
export function coreErrors(o: { apiVersion?: unknown; kind?: unknown }): string[] | undefined {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    compiled = new Map(Object.entries(CORE_SCHEMAS).map(([k, s]) => [k, ajv.compile(s)]));
  }
  const v = compiled.get(`${String(o.apiVersion)}/${String(o.kind)}`);
  if (!v) return undefined;
  return v(o) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}
