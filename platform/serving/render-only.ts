// Seldon and KServe backends used only to render objects (--dry-run) in a process that deploys elsewhere.
import { KubeConfig } from "@kubernetes/client-node";
import type { ServingBackend } from "../ports.ts";
import { KServeServingBackend } from "./kserve/backend.ts";
import { ServingKubeClient } from "./kube.ts";
import { SeldonServingBackend } from "./seldon/backend.ts";

/** render() never calls the API server, so the client points nowhere. */
export function renderOnlyBackends(namespace: string): { seldon: Pick<ServingBackend, "render">; kserve: Pick<ServingBackend, "render"> } {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "render-only", server: "https://render-only.invalid", skipTLSVerify: false }],
    users: [{ name: "render-only" }],
    contexts: [{ name: "render-only", cluster: "render-only", user: "render-only" }],
    currentContext: "render-only",
  });
  const client = new ServingKubeClient(kc, namespace);
  return { seldon: new SeldonServingBackend({ client }), kserve: new KServeServingBackend({ client }) };
}
