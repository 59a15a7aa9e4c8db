// Kubernetes credentials (in-cluster or kubeconfig). Importing this loads @kubernetes/client-node: callers on a
// function's start-up path import it lazily (see load.ts); the client itself lives in kube-client.ts.
import fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { kubeconfigFiles } from "./kubeconfig-files.ts";

export { TrainingKubeClient } from "./kube-client.ts";

export const SA_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * In a pod (KUBERNETES_SERVICE_HOST and a mounted ServiceAccount token): the in-cluster config; elsewhere the kubeconfig
 * `env` names. client-node's loadFromDefault reads process.env.KUBECONFIG and HOME itself, so its steps (Linux) are
 * taken here with `env`'s: $KUBECONFIG (its files merged in order, as client-node merges them: a later file's
 * current-context wins), else $HOME/.kube/config, else a ServiceAccount token, else localhost:8080. kube-rest.ts picks
 * the same file from the same `env`.
 */
export function loadKubeConfig(env: Record<string, string | undefined>, exists: (f: string) => boolean = fs.existsSync): KubeConfig {
  const kc = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST && exists(SA_TOKEN_FILE)) {
    kc.loadFromCluster();
    return kc;
  }
  const [first, ...rest] = kubeconfigFiles(env, exists);
  if (first) {
    kc.loadFromFile(first);
    for (const file of rest) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more);
    }
  } else if (exists(SA_TOKEN_FILE)) kc.loadFromCluster();
  else kc.loadFromClusterAndUser({ name: "cluster", server: "http://localhost:8080", skipTLSVerify: false }, { name: "user" });
  return kc;
}

