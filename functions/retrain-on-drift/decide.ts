// Record-then-emit: a decision is stored with the exact events it emits, so a redelivery re-sends them or does nothing.
import { UpstreamError } from "../../platform/errors.ts";
import { buildEvent, deriveId, fromStructured, toStructured, type AnyCloudEvent, type EventData } from "../../platform/events/index.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import { errorFields } from "../../platform/log.ts";
import type { RetrainDeps } from "./deps.ts";
import type { TrainingRecord } from "./store.ts";

/** Decisions are keyed by the causing event's (source, id): CloudEvents' uniqueness rule. */
export const causeKeyOf = (ce: AnyCloudEvent): string => `${ce.source}\u0000${ce.id}`;

export interface Cause {
  readonly key: string;
  readonly id: string;
  readonly traceparent: string | undefined;
}

export const causeOf = (ce: AnyCloudEvent): Cause => ({
  key: causeKeyOf(ce),
  id: ce.id,
  traceparent: typeof ce.traceparent === "string" ? ce.traceparent : undefined,
});

/** If this cause was decided before: re-send what was not yet sent, and report a duplicate. */
export async function replay(cause: Cause, deps: RetrainDeps): Promise<HandlerOutcome | undefined> {
  const prior = deps.store.getDecision(cause.key);
  if (!prior) return undefined;
  if (!prior.emitted) await emitAll(cause.key, prior.events.map(fromStructured), deps);
  return { status: "duplicate", detail: `${prior.decision}: ${prior.reason}`, emitted: prior.events.map((e) => String(e.id)) };
}

export async function decideSkip(
  cause: Cause,
  deps: RetrainDeps,
  d: Omit<EventData<"retrain.decided">, "decision" | "trainingEventId">,
): Promise<HandlerOutcome> {
  const decided = buildEvent("retrain.decided", { ...d, decision: "skipped" }, eventOpts(cause, deps, "retrain.decided", d.model));
  deps.store.recordDecision({ causeKey: cause.key, model: d.model, decision: "skipped", reason: d.reason, at: deps.now(), events: [toStructured(decided)], emitted: false });
  deps.metrics?.decided(d.model, "skipped");
  deps.log.info("retrain skipped", { model: d.model, reason: d.reason, cause: cause.id });
  await emitAll(cause.key, [decided], deps);
  return { status: "ignored", detail: `skipped: ${d.reason}`, emitted: [decided.id] };
}

export async function decideStart(
  cause: Cause,
  deps: RetrainDeps,
  request: EventData<"training.requested">,
  d: Omit<EventData<"retrain.decided">, "decision" | "reason" | "trainingEventId">,
): Promise<HandlerOutcome> {
  const requested = buildEvent("training.requested", request, eventOpts(cause, deps, "training.requested", request.model));
  const decided = buildEvent(
    "retrain.decided",
    { ...d, decision: "started", reason: "started", trainingEventId: requested.id },
    eventOpts(cause, deps, "retrain.decided", request.model),
  );
  const now = deps.now();
  const training: TrainingRecord = {
    trainingEventId: requested.id,
    model: request.model,
    reason: request.trigger?.reason ?? "drift",
    causeEventId: cause.id,
    requestedAt: now,
    // Queueing plus the job's own timeout plus slack: past this, a missing outcome no longer blocks new retrains.
    staleAt: now + request.timeoutSeconds * 1000 + 30 * 60_000,
  };
  deps.store.recordDecision(
    { causeKey: cause.key, model: request.model, decision: "started", reason: "started", at: now, events: [toStructured(requested), toStructured(decided)], emitted: false },
    training,
  );
  deps.metrics?.decided(request.model, "started");
  deps.log.info("retrain started", { model: request.model, reason: training.reason, cause: cause.id, training: requested.id });
  await emitAll(cause.key, [requested, decided], deps);
  return { status: "done", detail: `training requested (${training.reason})`, emitted: [requested.id, decided.id] };
}

function eventOpts(cause: Cause, deps: RetrainDeps, purpose: string, subject: string) {
  return {
    source: deps.source,
    id: deriveId(cause.key, purpose),
    subject,
    causedBy: { id: cause.id, traceparent: cause.traceparent },
    time: new Date(deps.now()),
  };
}

async function emitAll(key: string, events: readonly AnyCloudEvent[], deps: RetrainDeps): Promise<void> {
  try {
    for (const e of events) await deps.bus.emit(e);
  } catch (e) {
    deps.log.warn("retrain: event bus failed; the decision is kept and re-sent on redelivery", errorFields(e));
    throw new UpstreamError("event bus unavailable", true, { cause: e });
  }
  deps.store.markEmitted(key);
}
