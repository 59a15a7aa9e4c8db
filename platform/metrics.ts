// One Prometheus registry per process, built in a factory (never at module scope), with Knative default labels.
import { collectDefaultMetrics, Registry } from "prom-client";

export interface MetricsOptions {
  readonly service?: string | undefined;
  readonly revision?: string | undefined;
  readonly defaults?: boolean;
}

export function createMetricsRegistry(opts: MetricsOptions = {}): Registry {
  const registry = new Registry();
  const labels: Record<string, string> = {};
  if (opts.service) labels.service = opts.service;
  if (opts.revision) labels.revision = opts.revision;
  registry.setDefaultLabels(labels);
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: "flywheel_process_" });
  return registry;
}
