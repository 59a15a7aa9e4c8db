// The kubelet's API client: plain HTTP to the API server (list, watch from a resourceVersion, create, status patch).
import { crdErrors, hasCrd } from "../../crds.ts";

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
export const str = (v: unknown): string => (typeof v === "string" ? v : "");
export const num = (v: unknown): number => (typeof v === "number" ? v : 0);
export const objAt = (o: unknown, ...keys: string[]): Obj => {
  let cur: unknown = o;
  for (const k of keys) cur = isObj(cur) ? cur[k] : undefined;
  return isObj(cur) ? cur : {};
};
export const arrAt = (o: unknown, ...keys: string[]): Obj[] => {
  let cur: unknown = o;
  for (const k of keys) cur = isObj(cur) ? cur[k] : undefined;
  return Array.isArray(cur) ? cur.filter(isObj) : [];
};
export const metaOf = (o: Obj): Obj => objAt(o, "metadata");
export const nameOf = (o: Obj): string => str(metaOf(o).name);
export const nsOf = (o: Obj): string => str(metaOf(o).namespace);
export const uidOf = (o: Obj): string => str(metaOf(o).uid);
export const labelsOf = (o: Obj): Record<string, string> => Object.fromEntries(Object.entries(objAt(o, "metadata", "labels")).map(([k, v]) => [k, str(v)]));
/** RFC 3339 without fractions, as the API server writes times. */
export const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** Where a kind lives: /api/v1 or /apis/<group>/<version>, and its plural. */
export interface Kind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
}

export const KINDS = {
  Pod: { apiVersion: "v1", kind: "Pod", plural: "pods" },
  Service: { apiVersion: "v1", kind: "Service", plural: "services" },
  Secret: { apiVersion: "v1", kind: "Secret", plural: "secrets" },
  ConfigMap: { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps" },
  PersistentVolumeClaim: { apiVersion: "v1", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims" },
  Job: { apiVersion: "batch/v1", kind: "Job", plural: "jobs" },
  PyTorchJob: { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", plural: "pytorchjobs" },
  InferenceService: { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", plural: "inferenceservices" },
  Model: { apiVersion: "mlops.seldon.io/v1alpha1", kind: "Model", plural: "models" },
} as const satisfies Record<string, Kind>;

export const collectionPath = (k: Pick<Kind, "apiVersion" | "plural">, ns: string): string =>
  `${k.apiVersion.includes("/") ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`}/namespaces/${encodeURIComponent(ns)}/${k.plural}`;

export class KubeError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "KubeError";
  }
}

export class KubeHttp {
  readonly #headers: Record<string, string>;

  constructor(
    readonly url: string,
    token: string | undefined,
  ) {
    this.#headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  async request(method: string, path: string, body?: unknown, contentType = "application/json", signal?: AbortSignal): Promise<Response> {
    const init = {
      method,
      headers: { ...this.#headers, accept: "application/json", ...(body !== undefined ? { "content-type": contentType } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    };
    // A kept-alive socket the server closed at the same moment fails the request before it is sent ("fetch failed"):
    // client-go retries such connection errors too. Every call here is safe to repeat (creates answer 409 the 2nd time).
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch(this.url + path, init);
      } catch (e) {
        if (attempt >= 2 || signal?.aborted || !(e instanceof TypeError)) throw e;
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
  }

  async #json(method: string, path: string, body?: unknown, contentType?: string): Promise<Obj> {
    const res = await this.request(method, path, body, contentType);
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (!res.ok) throw new KubeError(res.status, `${method} ${path}: ${res.status} ${isObj(parsed) ? str(parsed.message) : text}`);
    return isObj(parsed) ? parsed : {};
  }

  get(path: string): Promise<Obj> {
    return this.#json("GET", path);
  }

  /** The object, or undefined on 404. */
  async find(k: Kind, ns: string, name: string): Promise<Obj | undefined> {
    try {
      return await this.get(`${collectionPath(k, ns)}/${encodeURIComponent(name)}`);
    } catch (e) {
      if (e instanceof KubeError && e.code === 404) return undefined;
      throw e;
    }
  }

  /** Create; an existing object of that name (409) is returned as it is (controllers create idempotently). */
  async create(k: Kind, ns: string, obj: Obj): Promise<Obj> {
    checkCrd(obj);
    try {
      return await this.#json("POST", collectionPath(k, ns), obj);
    } catch (e) {
      if (e instanceof KubeError && e.code === 409) return (await this.find(k, ns, str(metaOf(obj).name))) ?? {};
      throw e;
    }
  }

  /** Merge-patch the status subresource (what a controller owns), validated against the CRD first. */
  async patchStatus(k: Kind, ns: string, name: string, current: Obj, status: Obj): Promise<Obj> {
    // What the object will hold after the merge patch (nulls delete) is what must fit the CRD.
    checkCrd({ ...current, status: mergePatch(current.status, status) });
    return this.#json("PATCH", `${collectionPath(k, ns)}/${encodeURIComponent(name)}/status`, { status }, "application/merge-patch+json");
  }

  async remove(k: Kind, ns: string, name: string, propagationPolicy = "Background"): Promise<void> {
    try {
      await this.#json("DELETE", `${collectionPath(k, ns)}/${encodeURIComponent(name)}`, { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy });
    } catch (e) {
      if (!(e instanceof KubeError && e.code === 404)) throw e;
    }
  }
}

/** RFC 7386: null deletes, objects merge, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Everything the kubelet writes must fit the official CRD (kinds without one pass). */
export function checkCrd(obj: Obj): void {
  const av = str(obj.apiVersion);
  const kind = str(obj.kind);
  if (!av.includes(".") || !hasCrd(av, kind)) return;
  const errors = crdErrors(obj);
  if (errors.length) throw new KubeError(422, `${kind} ${nameOf(obj)} would break its CRD: ${errors.join("; ")}`);
}

/** A label selector (matchLabels + matchExpressions) in the API's query syntax. */
export function selectorString(sel: unknown): string {
  const parts = Object.entries(objAt(sel, "matchLabels")).map(([k, v]) => `${k}=${str(v)}`);
  for (const e of arrAt(sel, "matchExpressions")) {
    const key = str(e.key);
    const values = Array.isArray(e.values) ? e.values.map(str) : [];
    const op = str(e.operator);
    if (op === "Exists") parts.push(key);
    else if (op === "DoesNotExist") parts.push(`!${key}`);
    else if (op === "In") parts.push(`${key} in (${values.join(",")})`);
    else if (op === "NotIn") parts.push(`${key} notin (${values.join(",")})`);
  }
  return parts.join(",");
}
