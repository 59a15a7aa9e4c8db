// Reachability of the outside UIs linked from Home: each tool's own health endpoint, short timeout, no body read.
import { nodeFetch } from "../../platform/http/fetch.ts";
import type { UiDeps } from "../deps.ts";

export const OUTSIDE = [
  { key: "prometheus", label: "Prometheus", path: "/-/ready" },
  { key: "alertmanager", label: "Alertmanager", path: "/-/ready" },
  { key: "airflow", label: "Airflow", path: "/api/v1/health" },
  { key: "mlflow", label: "MLflow", path: "/health" },
  { key: "grafana", label: "Grafana", path: "/api/health" },
  { key: "tracing", label: "Tracing", path: "/" },
] as const;
export type OutsideKey = (typeof OUTSIDE)[number]["key"];

export interface Probe {
  readonly key: OutsideKey;
  readonly label: string;
  readonly url: string | undefined;
  /** undefined when not configured */
  readonly ok: boolean | undefined;
  readonly detail: string;
}

const TIMEOUT_MS = 1500;

export async function probeOutside(deps: Pick<UiDeps, "config" | "fetch">): Promise<Probe[]> {
  // node:http, not the global fetch: in a cold ui pod, the home page's probes were the first fetch() and paid for
  // loading undici's dispatcher and compiling its llhttp (platform/http/fetch.ts).
  const doFetch = deps.fetch ?? nodeFetch;
  return Promise.all(
    OUTSIDE.map(async (o): Promise<Probe> => {
      const url = deps.config.links[o.key];
      if (!url) return { key: o.key, label: o.label, url, ok: undefined, detail: "not configured" };
      try {
        const res = await doFetch(`${url.replace(/\/$/, "")}${o.path}`, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "manual" });
        await res.body?.cancel();
        // Any answer below 500 means the server is up (a login redirect or 401 still proves it is there).
        return { key: o.key, label: o.label, url, ok: res.status < 500, detail: res.status < 500 ? "reachable" : `HTTP ${res.status}` };
      } catch {
        return { key: o.key, label: o.label, url, ok: false, detail: "unreachable" };
      }
    }),
  );
}
