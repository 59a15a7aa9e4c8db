// Alias moves: the gate's outcome (champion / challenger / previous-champion) and manual promote or rollback.
import { buildEvent, deriveId, type AnyCloudEvent, type FlywheelEvent, type GateEvaluation, type TriggerRef } from "../../platform/events/index.ts";
import { ValidationError } from "../../platform/errors.ts";
import { ALIAS, TAG } from "../../platform/lineage.ts";
import { isNotFound, tagsOf, type ModelVersion } from "../../platform/mlflow/index.ts";
import type { LogModelDeps } from "./deps.ts";
import { evaluateGate, type GateDecision } from "./gate.ts";
import { crown } from "./champion.ts";

export const SOURCE = "/flywheel/functions/log-model";
/** Registered-model tag holding the id of the last promotion request applied (makes rollback replays no-ops). */
export const PROMOTION_EVENT_TAG = "flywheel.promotion_event_id";

/** The version behind an alias, read from the model's aliases: undefined means "not set" (e.g. no champion yet). */
export async function aliasVersion(deps: LogModelDeps, model: string, alias: string): Promise<ModelVersion | undefined> {
  return deps.mlflow.findModelVersionByAlias(model, alias);
}

/** A version's metrics: its run's latest values, else the candidate value recorded by its gate tag. */
async function versionMetrics(deps: LogModelDeps, v: ModelVersion, metric: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (v.run_id) {
    try {
      const run = await deps.mlflow.getRun(v.run_id);
      for (const m of run.data.metrics) if (Number.isFinite(m.value)) out[m.key] = m.value;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  const gate = tagsOf(v.tags)[TAG.gate];
  if (out[metric] === undefined && gate) {
    try {
      const parsed: unknown = JSON.parse(gate);
      if (parsed && typeof parsed === "object" && "candidate" in parsed && typeof parsed.candidate === "number") out[metric] = parsed.candidate;
    } catch {
      // An unreadable gate tag just means no recorded value.
    }
  }
  return out;
}

export interface GateOutcome {
  readonly decision: GateDecision;
  readonly emitted: AnyCloudEvent[];
  readonly duplicate: boolean;
}

/** Compare a fresh version with the champion and move aliases. Callers hold the model's lock. */
export async function applyGate(
  deps: LogModelDeps,
  cause: { id: string; traceparent?: string | undefined },
  version: ModelVersion,
  metrics: Readonly<Record<string, number>>,
  trigger: TriggerRef,
  /** Scores champion and candidate on the candidate's holdout (the fair comparison), when the flavor allows. */
  evaluate?: (champion: { version: string; flavor: string | undefined } | undefined) => Promise<GateEvaluation | undefined>,
): Promise<GateOutcome> {
  const model = version.name;
  const policy = deps.policies.forModel(model).gate;
  const recorded = tagsOf(version.tags)[TAG.gate];
  const champion = await aliasVersion(deps, model, ALIAS.champion);
  // Replay after the aliases moved but before the gate tag was written: the decision was "promote".
  const already = champion?.version === version.version;
  const championMetrics = champion && !already ? await versionMetrics(deps, champion, policy.metric) : undefined;
  const fair = recorded || already || !evaluate ? undefined : await evaluate(champion ? { version: champion.version, flavor: tagsOf(champion.tags)[TAG.flavor] } : undefined);
  const decision = already
    ? evaluateGate(policy, metrics, undefined)
    : evaluateGate(policy, metrics, champion ? championMetrics : undefined, fair);
  if (recorded) return { decision, emitted: [], duplicate: true };

  const emitted: AnyCloudEvent[] = [];
  let previous = already ? (await aliasVersion(deps, model, ALIAS.previousChampion))?.version : champion?.version;
  let lostTo: string | undefined;
  if (decision.passed && !already) {
    // Another replica may be crowning a candidate of this model at the same time: crown() repairs a lost race.
    const settled = await crown(deps.mlflow, {
      model, version: version.version, against: champion?.version, value: metrics[policy.metric] ?? Number.NaN, direction: policy.direction, now: deps.now(),
    });
    previous = settled.previous;
    if (settled.champion !== version.version) lostTo = settled.champion;
  }
  if ((decision.passed || already) && !lostTo) {
    emitted.push(
      buildEvent("model.promoted", {
        model, version: version.version, cause: "gate", gate: decision.result, trigger,
        ...(previous ? { previousVersion: previous } : {}),
      }, { source: SOURCE, causedBy: cause, id: deriveId(cause.id, "model.promoted"), subject: model }),
    );
  } else {
    await deps.mlflow.setAlias(model, ALIAS.challenger, version.version);
    const championVersion = lostTo ?? champion?.version;
    emitted.push(
      buildEvent("model.rejected", {
        model, version: version.version, gate: decision.result, trigger,
        ...(championVersion ? { championVersion } : {}),
      }, { source: SOURCE, causedBy: cause, id: deriveId(cause.id, "model.rejected"), subject: model }),
    );
  }
  for (const e of emitted) await deps.bus.emit(e);
  await deps.mlflow.setModelVersionTag(model, version.version, TAG.gate, JSON.stringify({ passed: (decision.passed || already) && !lostTo, ...decision.result }));
  return { decision, emitted, duplicate: false };
}

/** model.promotion.requested: promote a version (default: the challenger) or roll champion back to previous-champion. */
export async function applyPromotion(deps: LogModelDeps, ev: FlywheelEvent<"model.promotion.requested">): Promise<{ emitted: AnyCloudEvent[]; duplicate: boolean }> {
  const { model, action } = ev.data;
  const rm = await deps.mlflow.getRegisteredModel(model).catch((e: unknown) => {
    if (isNotFound(e)) throw new ValidationError([{ field: "data.model", message: `registered model ${model} does not exist` }]);
    throw e;
  });
  if (tagsOf(rm.tags)[PROMOTION_EVENT_TAG] === ev.id) return { emitted: [], duplicate: true };
  const champion = await aliasVersion(deps, model, ALIAS.champion);
  let target: string;
  if (action === "rollback") {
    const prev = await aliasVersion(deps, model, ALIAS.previousChampion);
    if (!prev) throw new ValidationError([{ field: "data.action", message: `${model} has no ${ALIAS.previousChampion} to roll back to` }]);
    target = prev.version;
    await deps.mlflow.setAlias(model, ALIAS.champion, target);
    // The rolled-back version must not be rolled back to again.
    await deps.mlflow.deleteAlias(model, ALIAS.previousChampion);
  } else {
    const requested = ev.data.version ?? (await aliasVersion(deps, model, ALIAS.challenger))?.version;
    if (!requested) throw new ValidationError([{ field: "data.version", message: `no version given and ${model} has no ${ALIAS.challenger}` }]);
    await deps.mlflow.getModelVersion(model, requested).catch((e: unknown) => {
      if (isNotFound(e)) throw new ValidationError([{ field: "data.version", message: `${model} version ${requested} does not exist` }]);
      throw e;
    });
    target = requested;
    if (champion?.version !== target) {
      await deps.mlflow.setAlias(model, ALIAS.champion, target);
      if (champion) await deps.mlflow.setAlias(model, ALIAS.previousChampion, champion.version);
    }
    const challenger = await aliasVersion(deps, model, ALIAS.challenger);
    if (challenger?.version === target) await deps.mlflow.deleteAlias(model, ALIAS.challenger);
  }
  const event = buildEvent("model.promoted", {
    model, version: target, cause: action === "rollback" ? "rollback" : "manual",
    ...(champion && champion.version !== target ? { previousVersion: champion.version } : {}),
    ...(ev.data.user ? { trigger: { reason: "manual" as const, user: ev.data.user, eventId: ev.id } } : {}),
  }, { source: SOURCE, causedBy: { id: ev.id, traceparent: ev.traceparent }, id: deriveId(ev.id, "model.promoted"), subject: model });
  await deps.bus.emit(event);
  await deps.mlflow.setRegisteredModelTag(model, PROMOTION_EVENT_TAG, ev.id);
  return { emitted: [event], duplicate: false };
}
