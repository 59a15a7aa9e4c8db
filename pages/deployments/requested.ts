// Deployments the serving backend does not list (yet): requested and waiting, or failed before anything was created,
// told by the deployment.requested / .failed / .ready / .removed events, and by the dead letters: a request that
// deploy-model refused (a 4xx, never retried) produces no deployment.failed, so its reason lives only in the dead letter.
import type { UiDeadLetter, UiDeps, UiStoredEvent } from "../deps.ts";

export interface RequestedDeployment {
  readonly name: string;
  readonly state: "requested" | "failed";
  readonly kind: string;
  readonly reason?: string | undefined;
  readonly message?: string | undefined;
  /** epoch ms of the last event about it */
  readonly at: number;
  readonly eventId: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

const TYPES = ["requested", "failed", "ready", "removed"] as const;

/** Latest word on each deployment name from the recent events, for names the backend does not list. */
export async function requestedDeployments(deps: Pick<UiDeps, "events">, listed: ReadonlySet<string>): Promise<RequestedDeployment[]> {
  const [dead, ...lists] = await Promise.all([
    deps.events.deadLetters({ limit: 200, offset: 0 }).catch((): readonly UiDeadLetter[] => []),
    ...TYPES.map((t) => deps.events.recentEvents({ limit: 200, offset: 0, type: `dev.flywheel.deployment.${t}` }).catch((): readonly UiStoredEvent[] => [])),
  ]);
  const refused = new Map(dead.filter((d) => d.type === "dev.flywheel.deployment.requested" && d.state === "dead").map((d) => [d.eventId, d]));
  const all = lists.flatMap((l, i) => l.map((e) => ({ e, t: TYPES[i] ?? "requested" }))).sort((a, b) => a.e.receivedAt - b.e.receivedAt);
  const latest = new Map<string, RequestedDeployment | undefined>();
  for (const { e, t } of all) {
    const d = isRecord(e.event.data) ? e.event.data : {};
    if (t === "requested") {
      const spec = isRecord(d.spec) ? d.spec : {};
      const name = d.action === "deploy" ? s(spec.name) : s(d.name);
      if (!name) continue;
      const dl = refused.get(e.id);
      if (d.action === "deploy" && dl) latest.set(name, { name, state: "failed", kind: s(spec.kind) ?? "model", reason: `Refused by deploy-model${dl.errorCode ? ` (${dl.errorCode})` : ""}`, message: dl.reason, at: dl.lastAt, eventId: e.id });
      else if (d.action === "deploy") latest.set(name, { name, state: "requested", kind: s(spec.kind) ?? "model", at: e.receivedAt, eventId: e.id });
      else if (d.action === "undeploy") latest.set(name, undefined);
      continue;
    }
    const name = s(d.name);
    if (!name) continue;
    if (t === "failed") latest.set(name, { name, state: "failed", kind: s(d.kind) ?? "model", reason: s(d.reason), message: s(d.message), at: e.receivedAt, eventId: e.id });
    else latest.set(name, undefined);
  }
  return [...latest.values()].filter((d): d is RequestedDeployment => d !== undefined && !listed.has(d.name)).sort((a, b) => b.at - a.at);
}
