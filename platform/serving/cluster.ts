// Builds the cluster serving backend (Seldon or KServe) from in-cluster or kubeconfig credentials.
import type { Logger } from "../log.ts";
import type { ServingBackend } from "../ports.ts";
import { loadKubeConfig } from "../training/kubernetes/client.ts";
import { KServeServingBackend } from "./kserve/backend.ts";
import { ServingKubeClient } from "./kube.ts";
import { SeldonServingBackend } from "./seldon/backend.ts";

export async function clusterServingBackend(
  kind: "seldon" | "kserve",
  namespace: string,
  log: Logger,
  env: Record<string, string | undefined> = process.env,
): Promise<ServingBackend> {
  const client = new ServingKubeClient(loadKubeConfig(env), namespace);
  return kind === "seldon" ? new SeldonServingBackend({ client, log }) : new KServeServingBackend({ client, log });
}
