// retrain-on-drift: drift alerts (with guards), PingSource ticks and Kafka records -> training.requested; tracks outcomes.
import { ValidationError } from "../../platform/errors.ts";
import { KAFKA_EVENT_TYPE, PING_EVENT_TYPE, eventType, parseEventAs, type AnyCloudEvent } from "../../platform/events/index.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import { intentFromPing } from "../../triggers/cron/mapping.ts";
import type { TrainingIntent } from "../../triggers/cron/intent.ts";
import { intentFromKafka } from "../../triggers/kafka/mapping.ts";
import { causeOf, decideSkip, decideStart, replay, type Cause } from "./decide.ts";
import type { RetrainDeps } from "./deps.ts";
import { checkGuards, historyWindowMs } from "./guards.ts";
import { championSpec, requestedData } from "./lineage.ts";
import { newDataCheck } from "./fresh-data.ts";

const ENDED = {
  [eventType("training.succeeded")]: "succeeded",
  [eventType("training.failed")]: "failed",
  [eventType("training.cancelled")]: "cancelled",
} as const;

export async function retrainOnDrift(ce: AnyCloudEvent, deps: RetrainDeps): Promise<HandlerOutcome> {
  const cause = causeOf(ce);
  // A concurrent delivery of the same event waits for the first one instead of deciding twice.
  const running = deps.pending.get(cause.key);
  if (running) {
    await running.catch(() => undefined);
    return (await replay(cause, deps)) ?? { status: "duplicate" };
  }
  const work = dispatch(ce, cause, deps);
  deps.pending.set(cause.key, work);
  try {
    return await work;
  } finally {
    deps.pending.delete(cause.key);
  }
}

async function dispatch(ce: AnyCloudEvent, cause: Cause, deps: RetrainDeps): Promise<HandlerOutcome> {
  if (ce.type === eventType("alert.firing")) return onFiring(ce, cause, deps);
  if (ce.type === eventType("alert.resolved")) return onResolved(ce, cause, deps);
  if (ce.type === PING_EVENT_TYPE) return onIntent(ce, cause, deps, intentFromPing);
  if (ce.type === KAFKA_EVENT_TYPE) return onIntent(ce, cause, deps, intentFromKafka);
  if (ce.type in ENDED) return onEnded(ce, deps);
  return { status: "ignored", detail: `not handled: ${ce.type}` };
}

async function onFiring(ce: AnyCloudEvent, cause: Cause, deps: RetrainDeps): Promise<HandlerOutcome> {
  const alert = parseEventAs("alert.firing", ce).data;
  const prior = await replay(cause, deps);
  if (prior) return prior;
  const model = alert.labels.model;
  if (!model) return decideSkip(cause, deps, { model: "", reason: "no-model-label", message: `alert ${alert.alertname} has no model label`, alert });
  const policy = deps.policies.forModel(model).retrain;
  if (!policy.alertnames.includes(alert.alertname)) {
    return decideSkip(cause, deps, { model, reason: "not-drift-alert", message: `${alert.alertname} is not one of ${policy.alertnames.join(", ")}`, alert });
  }
  // A cheap check first, so a storm of skipped alerts does not ask the registry each time; the binding one is below.
  const before = checkGuards(policy, await deps.store.trainings(model, deps.now() - historyWindowMs(policy)), deps.now());
  if (!before.ok) return decideSkip(cause, deps, { model, reason: before.reason, message: before.message, alert });

  const champion = await championSpec(deps.registry, model);
  if (!champion.ok) return decideSkip(cause, deps, { model, reason: champion.reason, message: champion.message, alert });
  const trigger = {
    reason: "drift" as const,
    eventId: ce.id,
    alert: { alertname: alert.alertname, fingerprint: alert.fingerprint, startsAt: alert.startsAt, labels: alert.labels },
  };
  const fresh = newDataCheck(deps, policy, model, champion);
  if (!fresh.ok) return decideSkip(cause, deps, { model, reason: "no-new-data", message: fresh.message, alert });
  let request;
  try {
    // A retrain sees the recent labelled feedback: the champion's own window, or the policy's default one.
    request = requestedData(champion.spec, champion.spec.dataWindow || !deps.labelledSince ? {} : { dataWindow: { days: policy.windowDays } }, model, trigger);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return decideSkip(cause, deps, { model, reason: "no-lineage", message: `champion ${champion.version}'s spec is not usable: ${e.message}`, alert });
  }
  // The guards that bind run inside the store's per-model lock, with the decision's record: N replicas decide in turn.
  return decideStart(
    cause,
    deps,
    request,
    {
      model,
      message: `drift alert ${alert.alertname} on ${model}${alert.labels.version ? ` version ${alert.labels.version}` : ""}: retraining from champion version ${champion.version}`,
      alert,
    },
    { since: deps.now() - historyWindowMs(policy), check: (trainings) => checkGuards(policy, trainings, deps.now()) },
  );
}

async function onResolved(ce: AnyCloudEvent, cause: Cause, deps: RetrainDeps): Promise<HandlerOutcome> {
  const alert = parseEventAs("alert.resolved", ce).data;
  const prior = await replay(cause, deps);
  if (prior) return prior;
  return decideSkip(cause, deps, {
    model: alert.labels.model ?? "",
    reason: "resolved",
    message: `alert ${alert.alertname} resolved${alert.endsAt ? ` at ${alert.endsAt}` : ""}; nothing to do`,
    alert,
  });
}

/** Scheduled and Kafka requests are explicit: no guards, but they count as in flight for the drift guards. */
async function onIntent(ce: AnyCloudEvent, cause: Cause, deps: RetrainDeps, map: (ce: AnyCloudEvent) => TrainingIntent): Promise<HandlerOutcome> {
  const prior = await replay(cause, deps);
  if (prior) return prior;
  let intent: TrainingIntent;
  try {
    intent = map(ce);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return decideSkip(cause, deps, { model: "", reason: "invalid-request", message: `${ce.type} ${ce.id}: ${e.message}` });
  }
  const { model, overrides, trigger } = intent;
  const what = trigger.reason === "schedule" ? `schedule ${trigger.schedule ?? ""}`.trim() : `Kafka record ${ce.id}`;
  const champion = await championSpec(deps.registry, model);
  if (!champion.ok && Object.keys(overrides).length === 0) {
    return decideSkip(cause, deps, { model, reason: champion.reason, message: `${what}: ${champion.message} and no spec overrides were given` });
  }
  let request;
  try {
    request = requestedData(champion.ok ? champion.spec : undefined, overrides, model, trigger);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const reason = champion.ok ? "invalid-request" : champion.reason;
    return decideSkip(cause, deps, { model, reason, message: `${what}: ${champion.ok ? "" : `${champion.message}; `}${e.message}` });
  }
  const from = champion.ok ? `champion version ${champion.version} with ${Object.keys(overrides).length} override(s)` : "the given spec";
  return decideStart(cause, deps, request, { model, message: `${what}: training ${model} from ${from}` });
}

async function onEnded(ce: AnyCloudEvent, deps: RetrainDeps): Promise<HandlerOutcome> {
  const name = ce.type === eventType("training.succeeded") ? "training.succeeded" : ce.type === eventType("training.failed") ? "training.failed" : "training.cancelled";
  const data = parseEventAs(name, ce).data;
  const outcome = name === "training.succeeded" ? "succeeded" : name === "training.failed" ? "failed" : "cancelled";
  const cause = data.trigger.eventId;
  if (!cause) return { status: "ignored", detail: "training has no trigger event id" };
  // Counted once: a redelivered end finds the training already closed.
  const open = (await deps.store.trainings(data.model, 0)).some((t) => t.causeEventId === cause && t.finishedAt === undefined);
  const ours = await deps.store.finishTraining(data.model, cause, outcome, "finishedAt" in data ? data.finishedAt : deps.now());
  if (ours && open) deps.metrics?.finished(data.model, outcome);
  return ours ? { status: "done", detail: `training of ${data.model} ${outcome}` } : { status: "ignored", detail: "not a training we requested" };
}
