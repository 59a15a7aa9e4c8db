// Emits deployment.* events from a backend status, with ids derived from the causing event (replay = same ids).
import { buildEvent, deriveId } from "../../platform/events/index.ts";
import type { EventData } from "../../platform/events/index.ts";
import type { DeploymentStatus } from "../../platform/ports.ts";
import type { DeployModelDeps } from "./deps.ts";

export const SOURCE = "/flywheel/functions/deploy-model";

export type StatusEventName = "deployment.ready" | "deployment.failed" | "deployment.promoted" | "deployment.rolled_back" | "deployment.removed";

export interface Cause {
  readonly id: string;
  readonly traceparent?: string | undefined;
}

/** The event payload part of a backend status (the catalogue schema is strict). */
export function statusData(s: DeploymentStatus, extra: { reason?: string; message?: string; canary?: EventData<"deployment.ready">["canary"] } = {}): EventData<"deployment.ready"> {
  return {
    name: s.name,
    kind: s.kind,
    backend: s.backend,
    ...(s.model !== undefined ? { model: s.model } : {}),
    ...(s.version !== undefined ? { version: s.version } : {}),
    revision: s.revision,
    ...(s.endpoint !== undefined ? { endpoint: s.endpoint } : {}),
    ...(extra.reason ?? s.reason ? { reason: extra.reason ?? s.reason } : {}),
    ...(extra.message ?? s.message ? { message: extra.message ?? s.message } : {}),
    warnings: [...s.warnings],
    ...(extra.canary ? { canary: extra.canary } : {}),
  };
}

export async function emitStatus(deps: DeployModelDeps, name: StatusEventName, data: EventData<"deployment.ready">, cause: Cause): Promise<string> {
  const id = deriveId(cause.id, `${name}:${data.name}`);
  await deps.bus.emit(buildEvent(name, data, { source: SOURCE, id, subject: data.name, causedBy: cause }));
  return id;
}
