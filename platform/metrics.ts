// One Prometheus registry per process, built in a factory (never at module scope), with Knative default labels.
// Default metrics are prefixed "flywheel_": flywheel_process_cpu_seconds_total, flywheel_nodejs_eventloop_lag_seconds, ...
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
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: "flywheel_" });
  return registry;
}
