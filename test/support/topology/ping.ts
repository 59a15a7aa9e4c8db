// Knative PingSource emulation from the rendered PingSource objects: at each tick, a dev.knative.sources.ping
// CloudEvent (binary mode, the source's data and content type) to the sink (a function front or the broker ingress).
import { randomUUID } from "node:crypto";
import { Cron } from "croner";
import type { K8sObject } from "../../../platform/manifests/index.ts";
import { destinationUrl, type LocalAddresses } from "./addresses.ts";

export interface PingSources {
  /** Ticks sent per source, with the sink's status (0 = unreachable). */
  readonly sent: { source: string; status: number; at: number }[];
  stop(): void;
}

export function startPingSources(objects: readonly K8sObject[], addresses: LocalAddresses): PingSources {
  const sent: PingSources["sent"] = [];
  const jobs: Cron[] = [];
  for (const o of objects.filter((x) => x.kind === "PingSource")) {
    const spec = (o.spec ?? {}) as { schedule?: string; timezone?: string; data?: string; contentType?: string; sink?: unknown };
    if (!spec.schedule) continue;
    const sink = destinationUrl(addresses, spec.sink);
    const source = `/apis/v1/namespaces/${o.metadata.namespace ?? "flywheel"}/pingsources/${o.metadata.name}`;
    jobs.push(
      new Cron(spec.schedule, { timezone: spec.timezone, protect: true }, async () => {
        const headers = {
          "content-type": spec.contentType ?? "application/json",
          "ce-specversion": "1.0",
          "ce-type": "dev.knative.sources.ping",
          "ce-source": source,
          "ce-id": randomUUID(),
          "ce-time": new Date().toISOString(),
        };
        let status = 0;
        try {
          status = (await fetch(sink, { method: "POST", headers, body: spec.data ?? "", signal: AbortSignal.timeout(30_000) })).status;
        } catch {
          // the sink is down: the next tick tries again, as the PingSource adapter does
        }
        sent.push({ source: o.metadata.name, status, at: Date.now() });
        if (sent.length > 10_000) sent.splice(0, 5_000);
      }),
    );
  }
  return { sent, stop: () => jobs.forEach((j) => j.stop()) };
}
