// Builds the cluster serving backend (Seldon or KServe) from in-cluster or kubeconfig credentials.
import type { Logger } from "../log.ts";
import type { ServingBackend } from "../ports.ts";
import { KServeServingBackend } from "./kserve/backend.ts";
import { ServingKubeClient } from "./kube.ts";
import { SeldonServingBackend } from "./seldon/backend.ts";

export async function clusterServingBackend(
  kind: "seldon" | "kserve",
  namespace: string,
  log: Logger,
  env: Record<string, string | undefined> = process.env,
): Promise<ServingBackend> {
  // The kubeconfig (and client-node with it) is loaded on the first call to the cluster, not at start-up; reads of the
  // backends' custom resources go without client-node where the credentials allow (kube-rest.ts).
  const client = new ServingKubeClient(
    async () => (await import("../training/kubernetes/client.ts")).loadKubeConfig(env),
    namespace,
    async () => (await import("./kube-rest.ts")).restReader({ env }),
  );
  return kind === "seldon" ? new SeldonServingBackend({ client, log }) : new KServeServingBackend({ client, log });
}
