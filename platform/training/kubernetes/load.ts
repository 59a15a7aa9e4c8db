// @kubernetes/client-node is the heaviest import a function carries (deploy-model's cold start was 2.3× a bare
// hello): every caller loads it here, on the first call that talks to a cluster, never at import.
import type * as K8s from "./client-node.ts";
import type { KubeConfig } from "@kubernetes/client-node";

export type ClientNode = typeof K8s;

let loading: Promise<ClientNode> | undefined;

export function clientNode(): Promise<ClientNode> {
  loading ??= import("./client-node.ts").catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

/** A KubeConfig now, or one to build on first use (so that building it loads client-node only then). */
export type KubeConfigSource = KubeConfig | (() => Promise<KubeConfig>);

export const resolveKubeConfig = async (kc: KubeConfigSource): Promise<KubeConfig> => (typeof kc === "function" ? kc() : kc);

/** Run `make` once, on first use; a failure is not cached (the next call tries again). */
export function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= make().catch((e: unknown) => {
      p = undefined;
      throw e;
    });
    return p;
  };
}
