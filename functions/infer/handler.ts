// infer as a CloudEvent function: inference.requested -> inference.completed (id derived from the request).
import { buildEvent, deriveId, eventType, parseEventAs, type AnyCloudEvent } from "../../platform/events/index.ts";
import { KSERVE_RESPONSE_TYPE, writeLogEvent } from "../../platform/inference-log/events.ts";
import type { FileInferenceLog } from "../../platform/inference-log/store.ts";
import { feedbackHandler } from "../feedback/handler.ts";
import type { FeedbackDeps } from "../feedback/deps.ts";
import type { BaseDeps, HandlerOutcome } from "../../platform/fn/types.ts";
import { inferDeployment } from "./core.ts";
import type { InferDeps } from "./deps.ts";
import { fromJson } from "./input.ts";
import { ModelInfoCache } from "./model-info.ts";

export type InferEventDeps = InferDeps &
  BaseDeps & {
    readonly cache?: ModelInfoCache;
    /** inference.feedback events are handled here too, when given. */
    readonly feedback?: FeedbackDeps | undefined;
    /** The sink for KServe-convention inference log events (Knative mode), when given. */
    readonly logStore?: FileInferenceLog | undefined;
  };

const SOURCE = "/flywheel/functions/infer";

export async function inferHandler(ce: AnyCloudEvent, deps: InferEventDeps): Promise<HandlerOutcome> {
  if (ce.type === eventType("inference.feedback") && deps.feedback) return feedbackHandler(ce, deps.feedback);
  if (ce.type === KSERVE_RESPONSE_TYPE && deps.logStore) {
    const r = writeLogEvent(ce, deps.logStore);
    return { status: r === "written" ? "done" : "duplicate", detail: `inference log ${r}` };
  }
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
