// The ONE mapping from in-cluster addresses (as the rendered manifests spell them) to this machine's processes, and
// a Knative Service's container env resolved the way the kubelet does (env, envFrom ConfigMap, secretKeyRef).
import type { K8sObject } from "../../../platform/manifests/index.ts";

/** Local URLs of the topology's servers, keyed by the role the in-cluster address plays. */
export interface LocalAddresses {
  readonly brokerIngress: string;
  readonly registry: string;
  readonly prometheus: string;
  readonly alertmanager: string;
  /** Knative Service name -> its front (activator) URL. */
  readonly functions: Readonly<Record<string, string>>;
}

/**
 * In-cluster URL (exact, as rendered) -> local URL. Anything not listed and still pointing at `.svc.cluster.local`
 * is refused by `mapUrl`, so a new in-cluster address in the manifests fails loudly instead of silently hanging.
 *
 * | in the cluster                                                        | here                                   |
 * |-----------------------------------------------------------------------|----------------------------------------|
 * | http://broker-ingress.knative-eventing.svc.cluster.local/flywheel/default | the broker process's ingress         |
 * | http://mlflow.mlflow.svc.cluster.local:5000                           | the registry process                   |
 * | http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090 | Prometheus                         |
 * | http://<service>.flywheel.svc.cluster.local[/...]                     | that function's round-robin front      |
 * | Service/Broker refs in Triggers, PingSources, the dead-letter sink    | the same fronts / the broker ingress   |
 * | the pod's service-account token (automountServiceAccountToken: true)  | KUBECONFIG for the fake API server     |
 *
 * Dropped (no such server here, documented in the README): OTEL_EXPORTER_OTLP_ENDPOINT (no collector),
 * FLYWHEEL_GRAFANA_URL (links only), NODE_EXTRA_CA_CERTS and MLFLOW_TRACKING_SERVER_CERT_PATH (the `ca` volume is an
 * optional ConfigMap; every local address is plain HTTP on 127.0.0.1).
 */
export function urlMapping(a: LocalAddresses): Map<string, string> {
  const m = new Map<string, string>([
    ["http://broker-ingress.knative-eventing.svc.cluster.local/flywheel/default", a.brokerIngress],
    ["http://mlflow.mlflow.svc.cluster.local:5000", a.registry],
    ["http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090", a.prometheus],
  ]);
  for (const [name, url] of Object.entries(a.functions)) {
    m.set(`http://${name}.flywheel.svc.cluster.local`, url);
    m.set(`http://${name}.flywheel.svc.cluster.local/`, `${url}/`);
  }
  return m;
}

export const DROPPED_ENV = new Set(["OTEL_EXPORTER_OTLP_ENDPOINT", "FLYWHEEL_GRAFANA_URL", "NODE_EXTRA_CA_CERTS", "MLFLOW_TRACKING_SERVER_CERT_PATH"]);

/** Map one value: an exact in-cluster URL, or an in-cluster URL with a path under a mapped prefix. */
export function mapUrl(mapping: Map<string, string>, value: string): string {
  const exact = mapping.get(value);
  if (exact !== undefined) return exact;
  for (const [from, to] of mapping) if (value.startsWith(`${from}/`)) return `${to}${value.slice(from.length)}`;
  if (/\.svc(\.cluster\.local)?[:/]/.test(value)) throw new Error(`topology: no local address for in-cluster URL ${value} (add it to urlMapping)`);
  return value;
}

/** A destination (Trigger subscriber, deadLetterSink, PingSource sink) as a local URL. */
export function destinationUrl(a: LocalAddresses, dest: unknown): string {
  const d = obj(dest);
  const ref = obj(d.ref);
  const uri = typeof d.uri === "string" ? d.uri : "";
  if (ref.kind === "Broker") return a.brokerIngress;
  if (ref.kind === "Service" && typeof ref.name === "string") {
    const front = a.functions[ref.name];
    if (!front) throw new Error(`topology: destination names Service ${ref.name}, which is not a function of the manifests`);
    return uri ? new URL(uri, `${front}/`).href : front;
  }
  if (uri) return mapUrl(urlMapping(a), uri);
  throw new Error(`topology: destination ${JSON.stringify(dest)} has neither a known ref nor a uri`);
}

export interface ContainerEnv {
  readonly target: string;
  readonly env: Record<string, string>;
  readonly automountToken: boolean;
  readonly emptyDirMounts: readonly string[];
  /** PersistentVolumeClaim mounts: mountPath -> claim name. */
  readonly pvcMounts: readonly { readonly mountPath: string; readonly claim: string }[];
  /** ConfigMap volumes: mountPath -> the rendered ConfigMap's files (key -> content; none for a missing optional one). */
  readonly configMapMounts: readonly { readonly mountPath: string; readonly files: Readonly<Record<string, string>> }[];
}

/** The function container's env, as the kubelet builds it: envFrom first, then env (which wins); secrets resolved. */
export function containerEnv(ksvc: K8sObject, objects: readonly K8sObject[], secrets: Readonly<Record<string, Readonly<Record<string, string>>>>): ContainerEnv {
  const podSpec = obj(obj(obj(ksvc.spec).template).spec);
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers.map(obj) : [];
  const c = containers[0];
  if (!c) throw new Error(`topology: Knative Service ${ksvc.metadata.name} has no container`);
  const configMap = (name: string): Record<string, string> => {
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === name);
    return cm ? strings(obj(cm.data)) : {};
  };
  const env: Record<string, string> = {};
  for (const from of Array.isArray(c.envFrom) ? c.envFrom.map(obj) : []) {
    const ref = obj(from.configMapRef);
    if (typeof ref.name === "string") Object.assign(env, configMap(ref.name));
  }
  for (const e of Array.isArray(c.env) ? c.env.map(obj) : []) {
    if (typeof e.name !== "string") continue;
    if (typeof e.value === "string") env[e.name] = e.value;
    const sk = obj(obj(e.valueFrom).secretKeyRef);
    if (typeof sk.name === "string" && typeof sk.key === "string") {
      const v = secrets[sk.name]?.[sk.key];
      // A missing, non-optional secret key keeps a pod from starting (CreateContainerConfigError): so here too.
      if (v === undefined && sk.optional !== true) throw new Error(`topology: ${ksvc.metadata.name} needs secret ${sk.name}/${sk.key}, which the harness does not create`);
      if (v !== undefined) env[e.name] = v;
    }
  }
  const target = env.FUNCTION_TARGET;
  if (!target) throw new Error(`topology: ${ksvc.metadata.name} sets no FUNCTION_TARGET`);
  const vols = Array.isArray(podSpec.volumes) ? podSpec.volumes.map(obj) : [];
  const emptyDirs = new Set(vols.filter((v) => v.emptyDir !== undefined).map((v) => String(v.name)));
  const claims = new Map(vols.filter((v) => v.persistentVolumeClaim !== undefined).map((v) => [String(v.name), String(obj(v.persistentVolumeClaim).claimName)]));
  const volumeMounts = Array.isArray(c.volumeMounts) ? c.volumeMounts.map(obj) : [];
  const mounts = volumeMounts.filter((m) => emptyDirs.has(String(m.name))).map((m) => String(m.mountPath));
  const pvcMounts = volumeMounts.flatMap((m) => {
    const claim = claims.get(String(m.name));
    return claim ? [{ mountPath: String(m.mountPath), claim }] : [];
  });
  const cmVolumes = new Map(vols.filter((v) => v.configMap !== undefined).map((v) => [String(v.name), obj(v.configMap)]));
  const configMapMounts = volumeMounts.flatMap((m) => {
    const ref = cmVolumes.get(String(m.name));
    if (!ref) return [];
    const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === ref.name);
    // A missing ConfigMap keeps the pod from starting unless the volume says optional (then the directory is empty).
    if (!cm && ref.optional !== true) throw new Error(`topology: ${ksvc.metadata.name} mounts ConfigMap ${String(ref.name)}, which the manifests do not render`);
    return [{ mountPath: String(m.mountPath), files: cm ? strings(obj(cm.data)) : {} }];
  });
  return { target, env, automountToken: podSpec.automountServiceAccountToken === true, emptyDirMounts: mounts, pvcMounts, configMapMounts };
}

/** The function's env with every in-cluster URL mapped and the dropped variables removed. */
export function localEnv(env: Readonly<Record<string, string>>, mapping: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (!DROPPED_ENV.has(k)) out[k] = mapUrl(mapping, v);
  return out;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : {};
}

function strings(o: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === "string"));
}
