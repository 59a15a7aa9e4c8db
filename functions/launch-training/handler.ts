// launch-training: training.requested -> a job on the TrainingBackend, idempotent on the request event's id.
import { parseEventAs, type AnyCloudEvent } from "../../platform/events/envelope.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import { errorFields } from "../../platform/log.ts";
import { windowEnv } from "../../platform/datasets/window.ts";
import { TrainingSpecSchema } from "../../platform/specs/training.ts";
import { jobIdFor } from "../../platform/training/updates.ts";
import { isApiServerEvent, kubernetesStatusTrigger } from "../../triggers/kubernetes/status.ts";
import type { LaunchTrainingDeps } from "./deps.ts";

/** training.requested -> launch; in Knative mode also ApiServerSource events -> training status events. */
export async function launchTraining(event: AnyCloudEvent, deps: LaunchTrainingDeps): Promise<HandlerOutcome> {
  if (deps.status && isApiServerEvent(event.type)) return kubernetesStatusTrigger(event, { ...deps, status: deps.status });
  const ev = parseEventAs("training.requested", event);
  const { trigger, ...rest } = ev.data;
  // The event schema already validated the spec; parsing again gives the spec type without the trigger.
  const parsed = TrainingSpecSchema.parse(rest);
  const jobId = jobIdFor(parsed.model, ev.id);
  // The window ends at the request's own time, so a redelivery resolves the same rows (and reuses the same file).
  const window = deps.windows?.materialize(parsed, jobId, Date.parse(ev.time ?? "") || deps.now());
  const { FLYWHEEL_WINDOW_DATASET: _w, FLYWHEEL_DATA_WINDOW: _d, ...ownEnv } = parsed.env;
  const spec = window ? { ...parsed, env: { ...ownEnv, ...windowEnv(parsed, window) } } : parsed;
  if (window) deps.log.info("training data window", { jobId, model: window.model, days: window.days, rows: window.rows });
  const { job, created } = await deps.backend.launch({
    jobId,
    spec,
    trigger: trigger ?? { reason: "manual", eventId: ev.id },
    causeEventId: ev.id,
    traceparent: ev.traceparent,
  });
  deps.log.info(created ? "training launched" : "training already launched", { jobId, model: spec.model, kind: spec.kind, state: job.state, eventId: ev.id });
  // The windows grow only here, so retention runs here, after the launch (whose job now counts as using its window).
  // Best effort: the launch stands whatever pruning meets, and the next window's launch tries again.
  if (window) await deps.windows?.prune(spec.model).catch((e: unknown) => deps.log.warn("window datasets: pruning failed", { model: spec.model, ...errorFields(e) }));
  return { status: created ? "done" : "duplicate", detail: jobId };
}
