// RBAC objects from the RBAC table, NetworkPolicies, and the cert-manager/trust-manager chain (interfaces.md §10).
import { FUNCTION_POD_LABEL } from "./functions.ts";
import { meta, type K8sObject } from "./object.ts";
import type { RoleDecl } from "./rbac.ts";
import { CERT_MANAGER_NS, INGRESS_NS, KNATIVE_EVENTING_NS, KNATIVE_SERVING_NS, MONITORING_NS, NAMESPACE, SERVICES } from "./settings.ts";

export function roleObjects(roles: readonly RoleDecl[]): K8sObject[] {
  return roles.flatMap((r) => [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(r.name, NAMESPACE, "rbac"),
      rules: r.rules.map((x) => ({ apiGroups: [...x.apiGroups], resources: [...x.resources], verbs: [...x.verbs] })),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(r.name, NAMESPACE, "rbac"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: r.name },
      subjects: [{ kind: "ServiceAccount", name: r.serviceAccount, namespace: NAMESPACE }],
    },
  ]);
}

const fromNamespace = (ns: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } });
/** queue-proxy ports Knative's own components call: 8012 data, 8022 admin/drain, 9090/9091 autoscaler metrics. */
const QUEUE_PROXY_PORTS = [8012, 8022, 9090, 9091].map((port) => ({ protocol: "TCP", port }));

/**
 * Deny all ingress, then allow only the paths each function needs. Requests reach a Knative pod through the activator
 * (knative-serving) or the gateway (kourier-system): the broker's filter and Alertmanager go through them too, so the
 * pod-level rule names those namespaces; the cluster-local label is what keeps internal functions off the public gateway.
 */
export function networkPolicies(): K8sObject[] {
  const fnPods = { matchExpressions: [{ key: FUNCTION_POD_LABEL, operator: "Exists" }] };
  const policies: K8sObject[] = [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("default-deny-ingress", NAMESPACE, "network"),
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("allow-prometheus-scrape", NAMESPACE, "network"),
      spec: {
        podSelector: fnPods,
        policyTypes: ["Ingress"],
        ingress: [{ from: [fromNamespace(MONITORING_NS)], ports: [{ protocol: "TCP", port: 8080 }, { protocol: "TCP", port: 9091 }] }],
      },
    },
  ];
  for (const s of SERVICES) {
    const from = [fromNamespace(KNATIVE_SERVING_NS), fromNamespace(INGRESS_NS)];
    // Broker deliveries (eventing dispatcher) hit event consumers; the UI and infer are called by people and services.
    if (!s.public) from.push(fromNamespace(KNATIVE_EVENTING_NS));
    policies.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(`allow-${s.service}`, NAMESPACE, "network"),
      spec: {
        podSelector: { matchLabels: { [FUNCTION_POD_LABEL]: s.service } },
        policyTypes: ["Ingress"],
        ingress: [{ from, ports: [{ protocol: "TCP", port: 8080 }, ...QUEUE_PROXY_PORTS] }],
      },
    });
  }
  return policies;
}

/**
 * KServe's predictor pods live in Flywheel's namespace, under its default deny: requests reach them through the
 * activator or the gateway (queue-proxy's ports), and Prometheus scrapes their queue-proxy's user metrics.
 */
export function predictorNetworkPolicy(): K8sObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta("allow-kserve-predictors", NAMESPACE, "network"),
    spec: {
      podSelector: { matchExpressions: [{ key: "serving.kserve.io/inferenceservice", operator: "Exists" }] },
      policyTypes: ["Ingress"],
      ingress: [
        { from: [fromNamespace(KNATIVE_SERVING_NS), fromNamespace(INGRESS_NS)], ports: [{ protocol: "TCP", port: 8080 }, ...QUEUE_PROXY_PORTS] },
        { from: [fromNamespace(MONITORING_NS)], ports: [{ protocol: "TCP", port: 9091 }] },
      ],
    },
  };
}

export const CA_SECRET = "flywheel-ca";
export const ISSUERS = { selfSigned: "flywheel-selfsigned", ca: "flywheel-ca" } as const;

/** Self-signed issuer -> CA Certificate -> CA issuer -> per-service Certificates; the key never leaves the cluster. */
export function tlsObjects(): K8sObject[] {
  const objs: K8sObject[] = [
    { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: meta(ISSUERS.selfSigned, undefined, "tls"), spec: { selfSigned: {} } },
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      // In cert-manager's cluster resource namespace, where a ClusterIssuer reads its CA secret.
      metadata: meta("flywheel-ca", CERT_MANAGER_NS, "tls"),
      spec: {
        isCA: true,
        commonName: "Flywheel CA",
        secretName: CA_SECRET,
        duration: "87600h",
        renewBefore: "720h",
        privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
        issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: ISSUERS.selfSigned },
      },
    },
    { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: meta(ISSUERS.ca, undefined, "tls"), spec: { ca: { secretName: CA_SECRET } } },
  ];
  for (const s of SERVICES) {
    objs.push({
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: meta(`${s.service}-tls`, NAMESPACE, "tls"),
      spec: {
        secretName: `${s.service}-tls`,
        dnsNames: [`${s.service}.${NAMESPACE}.svc.cluster.local`, `${s.service}.${NAMESPACE}.svc`, `${s.service}.${NAMESPACE}`],
        duration: "2160h",
        renewBefore: "360h",
        privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
        usages: ["server auth", "digital signature", "key encipherment"],
        issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: ISSUERS.ca },
      },
    });
  }
  objs.push({
    apiVersion: "trust.cert-manager.io/v1alpha1",
    kind: "Bundle",
    metadata: meta("flywheel-ca", undefined, "tls"),
    spec: {
      sources: [{ useDefaultCAs: true }, { secret: { name: CA_SECRET, key: "ca.crt" } }],
      target: { configMap: { key: "ca.crt" }, namespaceSelector: { matchLabels: { "flywheel.dev/trust": "enabled" } } },
    },
  });
  return objs;
}
