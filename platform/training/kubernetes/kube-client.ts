// The few Kubernetes calls training makes (see rbac.ts), over @kubernetes/client-node, with errors mapped at this edge.
// client-node and the kubeconfig are loaded on the first call (load.ts), so importing this costs a function nothing.
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import * as z from "zod";
import type { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../log.ts";
import { errorFields } from "../../log.ts";
import { toPlatformError } from "./errors.ts";
import type { KubeRest } from "../../serving/kube-rest.ts";
import { clientNode, lazily, resolveKubeConfig, type ClientNode, type KubeConfigSource } from "./load.ts";
import { KubeObjectSchema, TRAINING_KINDS_K8S, type KubeObject, type TrainingObjectKind } from "./meta.ts";

const parseObject = (v: unknown): KubeObject => KubeObjectSchema.parse(v);

export class TrainingKubeClient {
  readonly #apis: () => Promise<{ k: ClientNode; kc: KubeConfig; co: CustomObjectsApi; core: CoreV1Api }>;

  /** Lists and watches without client-node when the credentials allow (serving/kube-rest.ts); built on first use. */
  readonly #rest: () => Promise<KubeRest | undefined>;

  constructor(
    kc: KubeConfigSource,
    readonly namespace: string,
    rest?: () => Promise<KubeRest | undefined>,
  ) {
    this.#rest = rest ? lazily(rest) : async () => undefined;
    this.#apis = lazily(async () => {
      const k = await clientNode();
      const config = await resolveKubeConfig(kc);
      return { k, kc: config, co: config.makeApiClient(k.CustomObjectsApi), core: config.makeApiClient(k.CoreV1Api) };
    });
  }

  /** client-node's Watch.watch, or the same call over kube-rest. */
  async #watcher(): Promise<(...a: Parameters<KubeRest["watch"]>) => Promise<{ abort(): void }>> {
    const rest = await this.#rest();
    if (rest) return async (...a) => rest.watch(...a);
    const { k, kc } = await this.#apis();
    const w = new k.Watch(kc);
    return (...a) => w.watch(...a);
  }

  async #co(): Promise<CustomObjectsApi> {
    return (await this.#apis()).co;
  }

  /** Raw create: callers look at the ApiException themselves (409 means "already launched"). */
  async createRaw(kind: TrainingObjectKind, body: Record<string, unknown>): Promise<KubeObject> {
    const k = TRAINING_KINDS_K8S[kind];
    // CustomObjectsApi speaks the generic /apis/<group>/<version>/namespaces/<ns>/<plural> path, batch/v1 included.
    return parseObject(await (await this.#co()).createNamespacedCustomObject({ group: k.group, version: k.version, namespace: this.namespace, plural: k.plural, body }));
  }

  async read(kind: TrainingObjectKind, name: string): Promise<KubeObject | undefined> {
    const k = TRAINING_KINDS_K8S[kind];
    try {
      return parseObject(await (await this.#co()).getNamespacedCustomObject({ group: k.group, version: k.version, namespace: this.namespace, plural: k.plural, name }));
    } catch (e) {
      const err = toPlatformError(e, `get ${kind} ${name}`);
      if (err.name === "NotFoundError") return undefined;
      throw err;
    }
  }

  /** Delete with background propagation: the object goes at once, the garbage collector removes its pods. */
  async delete(kind: TrainingObjectKind, name: string): Promise<boolean> {
    const k = TRAINING_KINDS_K8S[kind];
    try {
      await (await this.#co()).deleteNamespacedCustomObject({ group: k.group, version: k.version, namespace: this.namespace, plural: k.plural, name, propagationPolicy: "Background" });
      return true;
    } catch (e) {
      const err = toPlatformError(e, `delete ${kind} ${name}`);
      if (err.name === "NotFoundError") return false;
      throw err;
    }
  }

  async list(kind: TrainingObjectKind, labelSelector: string): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const k = TRAINING_KINDS_K8S[kind];
    try {
      const rest = await this.#rest();
      const res: unknown = rest
        ? await rest.get(`/apis/${k.group}/${k.version}/namespaces/${encodeURIComponent(this.namespace)}/${k.plural}?${new URLSearchParams({ labelSelector }).toString()}`)
        : await (await this.#co()).listNamespacedCustomObject({ group: k.group, version: k.version, namespace: this.namespace, plural: k.plural, labelSelector });
      return listOf(res, kind);
    } catch (e) {
      throw toPlatformError(e, `list ${kind}`);
    }
  }

  async pods(labelSelector: string): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    try {
      const rest = await this.#rest();
      if (rest) {
        // The raw list, as the watch delivers pods: timestamps stay strings (the readers take either).
        const raw = await rest.get(`/api/v1/namespaces/${encodeURIComponent(this.namespace)}/pods?${new URLSearchParams({ labelSelector }).toString()}`);
        const body = KubeObjectSchema.extend({ items: z.array(z.unknown()).catch([]) }).parse(raw);
        return { items: body.items.map((p: unknown) => parseObject(p && typeof p === "object" ? { ...p, kind: "Pod" } : p)), resourceVersion: body.metadata.resourceVersion ?? "" };
      }
      const res = await (await this.#apis()).core.listNamespacedPod({ namespace: this.namespace, labelSelector });
      return { items: res.items.map((p) => parseObject({ ...p, kind: "Pod" })), resourceVersion: res.metadata?.resourceVersion ?? "" };
    } catch (e) {
      throw toPlatformError(e, "list pods");
    }
  }

  /** Log lines of one container; with follow, until the container ends or the signal aborts. */
  async *podLog(pod: string, container: string, opts: { follow: boolean; tailLines?: number; signal?: AbortSignal | undefined }): AsyncGenerator<string> {
    const out = new PassThrough();
    let ctrl: AbortController;
    try {
      const { k, kc } = await this.#apis();
      ctrl = await new k.Log(kc).log(this.namespace, pod, container, out, { follow: opts.follow, ...(opts.tailLines ? { tailLines: opts.tailLines } : {}) });
    } catch (e) {
      throw toPlatformError(e, `logs of pod ${pod}`);
    }
    const onAbort = (): void => {
      ctrl.abort();
      out.end();
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const line of createInterface({ input: out, crlfDelay: Infinity })) yield line;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      ctrl.abort();
    }
  }

  /**
   * List, then watch from the list's resourceVersion; reconnect from the last seen version when the stream closes, and
   * relist after 410 Expired. Returns a stop function.
   */
  /**
   * List, then watch from the list's resourceVersion (re-list on 410). `onSynced` runs once, after the first list's
   * objects have been handed over and their handling (a promise `onObject` returns) has settled.
   */
  watch(kind: TrainingObjectKind | "Pod", labelSelector: string, onObject: (o: KubeObject) => void | Promise<void>, log: Logger, onSynced?: () => void): () => void {
    let stopped = false;
    let ctrl: { abort(): void } | undefined;
    let rv = "";
    const path =
      kind === "Pod"
        ? `/api/v1/namespaces/${this.namespace}/pods`
        : `/apis/${TRAINING_KINDS_K8S[kind].group}/${TRAINING_KINDS_K8S[kind].version}/namespaces/${this.namespace}/${TRAINING_KINDS_K8S[kind].plural}`;
    const relist = async (): Promise<void> => {
      const res = kind === "Pod" ? await this.pods(labelSelector) : await this.list(kind, labelSelector);
      await Promise.allSettled(res.items.map((o) => onObject(o)));
      rv = res.resourceVersion;
      onSynced?.();
      onSynced = undefined;
    };
    const loop = async (): Promise<void> => {
      while (!stopped) {
        try {
          if (!rv) await relist();
          const watcher = await this.#watcher();
          const ended = new Promise<void>((resolve) => {
            void watcher(
              path,
              { labelSelector, resourceVersion: rv, allowWatchBookmarks: true },
              (type: string, raw: unknown) => {
                if (type === "ERROR") {
                  rv = ""; // 410 Expired (or any watch error): start again from a fresh list.
                  return;
                }
                // List items and some watch objects of built-in kinds carry no kind: fill it in from what is watched.
                const o = KubeObjectSchema.safeParse(raw && typeof raw === "object" ? { kind, ...raw } : raw);
                if (!o.success) return;
                if (o.data.metadata.resourceVersion) rv = o.data.metadata.resourceVersion;
                if (type !== "BOOKMARK") void onObject(o.data);
              },
              () => resolve(),
            ).then(
              (c) => {
                ctrl = c;
                if (stopped) c.abort();
              },
              () => resolve(),
            );
          });
          await ended;
        } catch (e) {
          log.warn("kubernetes watch failed; retrying", { kind, ...errorFields(e) });
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 500).unref());
      }
    };
    void loop();
    return () => {
      stopped = true;
      ctrl?.abort();
    };
  }
}

function listOf(res: unknown, kind: TrainingObjectKind): { items: KubeObject[]; resourceVersion: string } {
  const body = KubeObjectSchema.extend({ items: KubeObjectSchema.array().catch([]) }).safeParse(res);
  if (!body.success) return { items: [], resourceVersion: "" };
  return { items: body.data.items.map((i) => ({ ...i, kind: i.kind ?? kind })), resourceVersion: body.data.metadata.resourceVersion ?? "" };
}
