// Metrics a function's own deps register (drift bins, canary stats, retrain decisions) in a Knative process. serveTarget
// builds the process registry before the function's deps exist, so deps put theirs here and /metrics serves both.
// Kept per process and per target, like functions-framework's own table of registered functions.
import type { Registry } from "prom-client";
import type { Config } from "../config/index.ts";
import { createMetricsRegistry } from "../metrics.ts";

const registries = new Map<string, Registry>();

/** The registry `target`'s deps register on (same default labels as the process registry, no default metrics). */
export function functionRegistry(target: string, config: Pick<Config, "knative">): Registry {
  let r = registries.get(target);
  if (!r) {
    r = createMetricsRegistry({ service: config.knative.service, revision: config.knative.revision, defaults: false });
    registries.set(target, r);
  }
  return r;
}

/** What serveTarget appends to its own exposition: the registry the target's deps built, if any yet. */
export function functionMetricsText(target: string): Promise<string> {
  return registries.get(target)?.metrics() ?? Promise.resolve("");
}
