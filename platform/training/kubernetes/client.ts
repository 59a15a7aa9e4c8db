// Kubernetes credentials (in-cluster or kubeconfig). Importing this loads @kubernetes/client-node: callers on a
// function's start-up path import it lazily (see load.ts); the client itself lives in kube-client.ts.
import fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

export { TrainingKubeClient } from "./kube-client.ts";

export const SA_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** In a pod (KUBERNETES_SERVICE_HOST and a mounted ServiceAccount token): the in-cluster config; elsewhere the default kubeconfig. */
export function loadKubeConfig(env: Record<string, string | undefined>, exists: (f: string) => boolean = fs.existsSync): KubeConfig {
  const kc = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST && exists(SA_TOKEN_FILE)) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

