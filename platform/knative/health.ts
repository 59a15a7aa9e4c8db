// Each function's health in Knative mode: its Knative Service's `Ready` condition, read through kube-rest where the
// credentials allow (the home page's first render need not load client-node), else client-node.
import * as z from "zod";
import type { HealthCheck } from "../app/health.ts";
import type { KubeRest } from "../serving/kube-rest.ts";
import { clientNode, lazily, resolveKubeConfig, type KubeConfigSource } from "../training/kubernetes/load.ts";

const ServiceList = z.lazy(() =>
  z.object({
    items: z.array(
      z.object({
        metadata: z.object({ name: z.string() }),
        status: z.object({ conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })).optional() }).optional(),
      }),
    ),
  }),
);

/** Ready=True -> true; otherwise the condition's reason and message (Knative's own words), or why it is unknown. */
export function readiness(list: unknown): Map<string, true | string> {
  const out = new Map<string, true | string>();
  for (const s of ServiceList.parse(list).items) {
    const ready = s.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status === "True") out.set(s.metadata.name, true);
    else if (!ready) out.set(s.metadata.name, "no Ready condition yet");
    else out.set(s.metadata.name, `${ready.reason ?? `Ready=${ready.status}`}${ready.message ? `: ${ready.message}` : ""}`);
  }
  return out;
}

/**
 * One check per function (Knative Service name). One list call serves all of them for a couple of seconds, so a health
 * page is one request to the API server. The UI's Role may only get and list serving.knative.dev services.
 */
export function knativeServiceChecks(
  kc: KubeConfigSource,
  namespace: string,
  services: readonly string[],
  now: () => number = Date.now,
  rest?: () => Promise<KubeRest | undefined>,
): HealthCheck[] {
  // client-node (and the kubeconfig) load on the first health check, not when the UI starts, and only without kube-rest.
  const list = lazily(async (): Promise<() => Promise<unknown>> => {
    const r = await rest?.();
    if (r) return () => r.get(`/apis/serving.knative.dev/v1/namespaces/${encodeURIComponent(namespace)}/services`);
    const api = (await resolveKubeConfig(kc)).makeApiClient((await clientNode()).CustomObjectsApi);
    return () => api.listNamespacedCustomObject({ group: "serving.knative.dev", version: "v1", namespace, plural: "services" });
  });
  let cached: { at: number; value: Promise<Map<string, true | string>> } | undefined;
  const read = (): Promise<Map<string, true | string>> => {
    if (!cached || now() - cached.at > 2000) {
      const value = list().then((l) => l()).then(readiness);
      cached = { at: now(), value };
      value.catch(() => (cached = undefined));
    }
    return cached.value;
  };
  return services.map((name) => ({
    name: `function ${name}`,
    check: async () => {
      try {
        return (await read()).get(name) ?? "no Knative Service";
      } catch {
        // Never the raw ApiException: its message carries request headers.
        return "Kubernetes API unavailable";
      }
    },
  }));
}
