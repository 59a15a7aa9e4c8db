// Generates Knative PingSource objects (sources.knative.dev/v1) from the schedules file, for `flywheel manifests`.
import { pingData, type Schedule } from "./schedules.ts";

export interface PingSourceOptions {
  readonly namespace: string;
  /** Where pings go: the Broker by default (its Triggers route them to retrain-on-drift). */
  readonly sink?: { ref: { apiVersion: string; kind: string; name: string; namespace?: string } } | { uri: string };
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PingSourceObject {
  apiVersion: "sources.knative.dev/v1";
  kind: "PingSource";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    schedule: string;
    timezone: string;
    contentType: "application/json";
    data: string;
    sink: NonNullable<PingSourceOptions["sink"]>;
  };
}

export function pingSourcesFromSchedules(schedules: readonly Schedule[], opts: PingSourceOptions): PingSourceObject[] {
  const sink = opts.sink ?? { ref: { apiVersion: "eventing.knative.dev/v1", kind: "Broker", name: "default" } };
  return schedules.map((s) => ({
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: {
      name: s.name,
      namespace: opts.namespace,
      labels: {
        "app.kubernetes.io/part-of": "flywheel",
        "app.kubernetes.io/component": "schedule",
        "flywheel.dev/model": s.model,
        ...opts.labels,
      },
    },
    spec: {
      schedule: s.schedule,
      timezone: s.timezone,
      contentType: "application/json",
      data: JSON.stringify(pingData(s)),
      sink,
    },
  }));
}
