// ApiServerSource events (dev.knative.apiserver.resource.*) for training objects and pods -> training status events.
import * as z from "zod";
import { ValidationError } from "../../platform/errors.ts";
import type { AnyCloudEvent } from "../../platform/events/envelope.ts";
import type { BaseDeps, HandlerOutcome } from "../../platform/fn/types.ts";
import { trainingEventFor } from "../../platform/training/events.ts";
import { KubeObjectSchema, isTrainingObjectKind, type KubeObject } from "../../platform/training/kubernetes/meta.ts";
import type { JobUpdate } from "../../platform/training/updates.ts";

export const APISERVER_EVENT_TYPES = [
  "dev.knative.apiserver.resource.add",
  "dev.knative.apiserver.resource.update",
  "dev.knative.apiserver.resource.delete",
  "dev.knative.apiserver.ref.add",
  "dev.knative.apiserver.ref.update",
  "dev.knative.apiserver.ref.delete",
] as const;
export const isApiServerEvent = (type: string): boolean => (APISERVER_EVENT_TYPES as readonly string[]).includes(type);

/** What the trigger needs from the Kubernetes backend: the shared status mapping, and a read for Reference mode. */
export interface StatusSource {
  updateFor(o: KubeObject): Promise<JobUpdate | undefined>;
  readObject(kind: string, name: string): Promise<KubeObject | undefined>;
}

export interface KubernetesStatusDeps extends BaseDeps {
  readonly status: StatusSource;
  readonly source?: string;
}

const Reference = z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional(), apiVersion: z.string().optional() });

function payload(ce: AnyCloudEvent): unknown {
  const d = ce.data;
  if (typeof d === "string") {
    try {
      return JSON.parse(d);
    } catch {
      throw new ValidationError([{ field: "data", message: "is not valid JSON" }]);
    }
  }
  if (d instanceof Uint8Array) return payload({ ...ce, data: Buffer.from(d).toString("utf8") } as AnyCloudEvent);
  return d;
}

/** One ApiServerSource event -> at most one training event, through the same mapping the embedded watch uses. */
export async function kubernetesStatusTrigger(ce: AnyCloudEvent, deps: KubernetesStatusDeps): Promise<HandlerOutcome> {
  if (!isApiServerEvent(ce.type)) throw new ValidationError([{ field: "type", message: `expected a dev.knative.apiserver.* event, got ${ce.type}` }]);
  // A deleted object says nothing new: cancel is reported by whoever deleted it.
  if (ce.type.endsWith(".delete")) return { status: "ignored", detail: "delete" };
  const data = payload(ce);
  let obj: KubeObject | undefined;
  if (ce.type.startsWith("dev.knative.apiserver.ref.")) {
    const ref = Reference.safeParse(data);
    if (!ref.success) throw new ValidationError([{ field: "data", message: "expected an object reference {kind, name}" }]);
    obj = await deps.status.readObject(ref.data.kind, ref.data.name);
  } else {
    const parsed = KubeObjectSchema.safeParse(data);
    if (!parsed.success) throw new ValidationError([{ field: "data", message: "expected a Kubernetes object" }]);
    obj = parsed.data;
  }
  if (!obj || (obj.kind !== "Pod" && !isTrainingObjectKind(obj.kind))) return { status: "ignored", detail: "not a training object" };
  const update = await deps.status.updateFor(obj);
  const event = update ? trainingEventFor(update, deps.source) : undefined;
  if (!event) return { status: "ignored", detail: "no status change to report" };
  await deps.bus.emit(event);
  return { status: "done", detail: `${update?.job.id ?? ""} ${update?.transition.state ?? ""}`, emitted: [event.id] };
}
