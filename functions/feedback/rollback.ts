// The accuracy rollback policy: when the champion's live accuracy falls below the previous champion's, ask log-model
// to roll the alias back now, before any retrain finishes. The request id is derived from the champion version, so
// repeated checks (and redeliveries) ask once.
import { buildEvent, deriveId } from "../../platform/events/index.ts";
import type { AccuracyReading } from "../../platform/inference-log/accuracy.ts";
import { ALIAS } from "../../platform/lineage.ts";
import { errorFields } from "../../platform/log.ts";
import type { FeedbackDeps } from "./deps.ts";

const SOURCE = "/flywheel/functions/feedback";
const asked = new Set<string>();

/**
 * The version an alias points at, read from the model's aliases: a real MLflow answers a missing alias 400
 * INVALID_PARAMETER_VALUE, like a malformed request, so an error never means "no such alias".
 */
async function alias(deps: FeedbackDeps, model: string, name: string): Promise<string | undefined> {
  return (await deps.registry?.findVersionByAlias(model, name))?.version;
}

/** Returns the id of the rollback request it emitted, if any. */
export async function checkRollback(deps: FeedbackDeps, model: string, version: string): Promise<string | undefined> {
  const policy = deps.policies.forModel(model).feedback;
  if (!policy.rollbackOnAccuracyDrop || !deps.registry) return undefined;
  const source = deps.accuracySource ?? deps.accuracy;
  const read = async (v: string): Promise<AccuracyReading | undefined> => {
    try {
      return await source.get(model, v);
    } catch (e) {
      // The labels are stored already; a Prometheus outage skips this check (the next feedback checks again).
      deps.log.warn("feedback: live accuracy unavailable; rollback check skipped", { model, version: v, source: source.source, ...errorFields(e) });
      return undefined;
    }
  };
  const now = await read(version);
  if (!now || now.samples < policy.minSamples) return undefined;
  const champion = await alias(deps, model, ALIAS.champion);
  if (champion !== version) return undefined;
  const previous = await alias(deps, model, ALIAS.previousChampion);
  const before = previous ? await read(previous) : undefined;
  if (!previous || !before || before.samples < policy.minSamples) return undefined;
  if (now.accuracy >= before.accuracy - policy.margin) return undefined;
  const id = deriveId(`${model}/${version}`, "accuracy-rollback");
  if (asked.has(id)) return undefined;
  asked.add(id);
  deps.log.warn("feedback: champion less accurate than the previous champion; rolling back", { model, champion: version, accuracy: now.accuracy, samples: now.samples, previous, previousAccuracy: before.accuracy, previousSamples: before.samples, source: source.source });
  await deps.bus.emit(buildEvent("model.promotion.requested", { model, action: "rollback", user: "policy:rollbackOnAccuracyDrop" }, { source: SOURCE, id, subject: model }));
  return id;
}
