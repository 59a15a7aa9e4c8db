// Record-then-emit: a decision is stored with the exact events it emits, so a redelivery re-sends them or does nothing.
import { UpstreamError } from "../../platform/errors.ts";
import { buildEvent, deriveId, fromStructured, toStructured, type AnyCloudEvent, type EventData } from "../../platform/events/index.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import { errorFields } from "../../platform/log.ts";
import type { RetrainDeps } from "./deps.ts";
import type { GuardVerdict } from "./guards.ts";
import type { Decided, DecisionRecord, TrainingRecord } from "./store.ts";

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
  const prior = await deps.store.getDecision(cause.key);
  if (!prior) return undefined;
  return settle(cause, { record: prior, fresh: false }, deps);
}

type DecidedData = Omit<EventData<"retrain.decided">, "decision" | "trainingEventId">;

function skipRecord(cause: Cause, deps: RetrainDeps, d: DecidedData): DecisionRecord {
  const decided = buildEvent("retrain.decided", { ...d, decision: "skipped" }, eventOpts(cause, deps, "retrain.decided", d.model));
  return { causeKey: cause.key, model: d.model, decision: "skipped", reason: d.reason, at: deps.now(), events: [toStructured(decided)], emitted: false };
}

export async function decideSkip(cause: Cause, deps: RetrainDeps, d: DecidedData): Promise<HandlerOutcome> {
  const decided = await deps.store.decide(d.model, cause.key, deps.now(), () => ({ decision: skipRecord(cause, deps, d) }));
  return settle(cause, decided, deps);
}

/**
 * Start a training unless `guard` (run inside the model's lock, on the trainings the store holds at that moment)
 * says no, in which case the decision is a skip with its reason. Without a guard it always starts.
 */
export async function decideStart(
  cause: Cause,
  deps: RetrainDeps,
  request: EventData<"training.requested">,
  d: Omit<EventData<"retrain.decided">, "decision" | "reason" | "trainingEventId">,
  guard?: { readonly since: number; readonly check: (trainings: readonly TrainingRecord[]) => GuardVerdict },
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
  const result = await deps.store.decide(request.model, cause.key, guard?.since ?? now, (trainings) => {
    const verdict = guard?.check(trainings);
    if (verdict && !verdict.ok) return { decision: skipRecord(cause, deps, { ...d, reason: verdict.reason, message: verdict.message }) };
    return {
      decision: { causeKey: cause.key, model: request.model, decision: "started", reason: "started", at: now, events: [toStructured(requested), toStructured(decided)], emitted: false },
      training,
    };
  });
  return settle(cause, result, deps);
}

/** Emit what the decision holds (once recorded, the same events on every redelivery) and describe the outcome. */
async function settle(cause: Cause, { record, fresh }: Decided, deps: RetrainDeps): Promise<HandlerOutcome> {
  if (!record.emitted) await emitAll(cause.key, record.events.map(fromStructured), deps);
  const emitted = record.events.map((e) => String(e.id));
  if (!fresh) return { status: "duplicate", detail: `${record.decision}: ${record.reason}`, emitted };
  deps.metrics?.decided(record.model, record.decision);
  if (record.decision === "skipped") {
    deps.log.info("retrain skipped", { model: record.model, reason: record.reason, cause: cause.id });
    return { status: "ignored", detail: `skipped: ${record.reason}`, emitted };
  }
  deps.log.info("retrain started", { model: record.model, cause: cause.id, training: emitted[0] });
  return { status: "done", detail: "training requested", emitted };
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
  await deps.store.markEmitted(key);
}
