// The Kubernetes calls the cluster serving backends make: server-side apply (fieldManager=flywheel), read, list by
// label, delete. Errors are mapped to the platform taxonomy at this edge (never a raw ApiException).
import type { KubernetesObject, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import { toPlatformError } from "../training/kubernetes/errors.ts";
import { clientNode, lazily, resolveKubeConfig, type KubeConfigSource } from "../training/kubernetes/load.ts";
import { isCustomResource, type RestReader } from "./kube-rest.ts";

export const FIELD_MANAGER = "flywheel";
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "flywheel" } as const;

export type KubeObj = KubernetesObject & { spec?: unknown; status?: Record<string, unknown> };

export class ServingKubeClient {
  /** client-node and the config are loaded on the first call (load.ts); a load failure is retried on the next. */
  readonly #api: () => Promise<{ api: KubernetesObjectApi; serverSideApply: PatchStrategy; mergePatch: PatchStrategy }>;

  /** Reads of custom resources without client-node, when the credentials allow it (kube-rest.ts); built on first use. */
  readonly #rest: (() => Promise<RestReader | undefined>) | undefined;

  constructor(
    kc: KubeConfigSource,
    readonly namespace: string,
    rest?: () => Promise<RestReader | undefined>,
  ) {
    this.#rest = rest && lazily(rest);
    this.#api = lazily(async () => {
      const k = await clientNode();
      return { api: k.KubernetesObjectApi.makeApiClient(await resolveKubeConfig(kc)), serverSideApply: k.PatchStrategy.ServerSideApply, mergePatch: k.PatchStrategy.MergePatch };
    });
  }

  /** Server-side apply: creates or updates the fields flywheel owns; force takes them over from other managers. */
  async apply(obj: Record<string, unknown>): Promise<KubeObj> {
    try {
      const { api, serverSideApply } = await this.#api();
      return await api.patch<KubeObj>(obj as KubeObj, undefined, undefined, FIELD_MANAGER, true, serverSideApply);
    } catch (e) {
      throw toPlatformError(e, `apply ${String(obj.kind)} ${nameOf(obj)}`);
    }
  }

  /** JSON merge patch (RFC 7386): `null` removes a field, which server-side apply cannot do for a field it never names. */
  async mergePatch(apiVersion: string, kind: string, name: string, patch: Record<string, unknown>): Promise<KubeObj> {
    try {
      const { api, mergePatch } = await this.#api();
      const body = { apiVersion, kind, ...patch, metadata: { ...(isRecord(patch.metadata) ? patch.metadata : {}), name, namespace: this.namespace } };
      return await api.patch<KubeObj>(body as KubeObj, undefined, undefined, FIELD_MANAGER, undefined, mergePatch);
    } catch (e) {
      throw toPlatformError(e, `patch ${kind} ${name}`);
    }
  }

  async read(apiVersion: string, kind: string, name: string): Promise<KubeObj | undefined> {
    try {
      const rest = isCustomResource(apiVersion) ? await this.#rest?.() : undefined;
      if (rest) return await rest.read(apiVersion, kind, this.namespace, name);
      const { api } = await this.#api();
      return await api.read<KubeObj>({ apiVersion, kind, metadata: { name, namespace: this.namespace } });
    } catch (e) {
      const err = toPlatformError(e, `get ${kind} ${name}`);
      if (err.name === "NotFoundError") return undefined;
      throw err;
    }
  }

  async list(apiVersion: string, kind: string, labelSelector: string): Promise<KubeObj[]> {
    try {
      const rest = isCustomResource(apiVersion) ? await this.#rest?.() : undefined;
      if (rest) return (await rest.list(apiVersion, kind, this.namespace, labelSelector)).items.map((i) => ({ ...i, apiVersion, kind }));
      const { api } = await this.#api();
      const res = await api.list<KubeObj>(apiVersion, kind, this.namespace, undefined, undefined, undefined, undefined, labelSelector);
      return res.items.map((i) => ({ ...i, apiVersion, kind }));
    } catch (e) {
      const err = toPlatformError(e, `list ${kind}`);
      // A CRD that is not installed means there is nothing of that kind.
      if (err.name === "NotFoundError") return [];
      throw err;
    }
  }

  async delete(apiVersion: string, kind: string, name: string): Promise<boolean> {
    try {
      const { api } = await this.#api();
      await api.delete({ apiVersion, kind, metadata: { name, namespace: this.namespace } }, undefined, undefined, undefined, undefined, "Foreground");
      return true;
    } catch (e) {
      const err = toPlatformError(e, `delete ${kind} ${name}`);
      if (err.name === "NotFoundError") return false;
      throw err;
    }
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function nameOf(obj: Record<string, unknown>): string {
  const md = obj.metadata;
  return md && typeof md === "object" && typeof (md as { name?: unknown }).name === "string" ? (md as { name: string }).name : "?";
}

/** status.conditions[] of an object, typed loosely as Kubernetes conditions are. */
export function conditionsOf(obj: KubeObj | undefined): { type: string; status: "True" | "False" | "Unknown"; reason?: string; message?: string }[] {
  const raw = obj?.status?.conditions;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((c: unknown) => {
    if (!c || typeof c !== "object") return [];
    const o = c as Record<string, unknown>;
    if (typeof o.type !== "string") return [];
    const status = o.status === "True" || o.status === "False" ? o.status : "Unknown";
    return [{ type: o.type, status, ...(typeof o.reason === "string" ? { reason: o.reason } : {}), ...(typeof o.message === "string" ? { message: o.message.slice(0, 500) } : {}) }];
  });
}
