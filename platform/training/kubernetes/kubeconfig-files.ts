// Which kubeconfig files a process outside a pod uses, from its environment as client-node's loadFromDefault picks
// them (Linux): $KUBECONFIG's files in order, else $HOME/.kube/config when it exists. No client-node here: the light
// REST client (serving/kube-rest.ts) and the full KubeConfig (client.ts) choose the same file from the same env.
import path from "node:path";

export function kubeconfigFiles(env: Readonly<Record<string, string | undefined>>, exists: (f: string) => boolean): string[] {
  const files = (env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  if (files.length) return files;
  const home = env.HOME ? path.join(env.HOME, ".kube", "config") : undefined;
  return home && exists(home) ? [home] : [];
}
