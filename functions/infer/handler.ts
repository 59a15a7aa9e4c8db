// infer as a CloudEvent function: inference.requested -> inference.completed (id derived from the request).
import { buildEvent, deriveId, parseEventAs, type AnyCloudEvent } from "../../platform/events/index.ts";
import type { BaseDeps, HandlerOutcome } from "../../platform/fn/types.ts";
import { inferDeployment } from "./core.ts";
import type { InferDeps } from "./deps.ts";
import { fromJson } from "./input.ts";
import { ModelInfoCache } from "./model-info.ts";

export type InferEventDeps = InferDeps & BaseDeps & { readonly cache?: ModelInfoCache };

const SOURCE = "/flywheel/functions/infer";

export async function inferHandler(ce: AnyCloudEvent, deps: InferEventDeps): Promise<HandlerOutcome> {
  const ev = parseEventAs("inference.requested", ce);
  // Pass a long-lived cache in deps to skip the metadata lookup on every event.
  const cache = deps.cache ?? new ModelInfoCache();
  const input = typeof ev.data.input === "string" ? { kind: "text" as const, text: ev.data.input } : fromJson(ev.data.input);
  const result = await inferDeployment(deps, cache, ev.data.deployment, input, input.kind);
  const id = deriveId(ev.id, "inference.completed");
  await deps.bus.emit(
    buildEvent(
      "inference.completed",
      { deployment: result.deployment, model: result.model, version: result.version, route: result.route, predictions: result.predictions },
      { source: SOURCE, id, subject: ev.data.deployment, causedBy: { id: ev.id, traceparent: ev.traceparent } },
    ),
  );
  return { status: "done", emitted: [id] };
}
