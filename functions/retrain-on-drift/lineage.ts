// The champion's training spec from registry lineage (tag flywheel.training_spec), and overrides merged onto it.
import { ValidationError } from "../../platform/errors.ts";
import { TrainingRequestedDataSchema, zodIssues, type EventData, type TriggerRef } from "../../platform/events/index.ts";
import { ALIAS, TAG } from "../../platform/lineage.ts";
import type { ModelRegistry } from "../../platform/ports.ts";
import { TrainingSpecSchema, type TrainingSpec } from "../../platform/specs/training.ts";

export type ChampionSpec =
  | { readonly ok: true; readonly version: string; readonly spec: TrainingSpec; readonly createdAt: number }
  | { readonly ok: false; readonly reason: "no-champion" | "no-lineage"; readonly message: string };

/**
 * "No champion" is read from the model's aliases (a missing alias and a malformed request are the same 400 in MLflow);
 * any registry failure propagates, so the broker retries the event.
 */
export async function championSpec(registry: ModelRegistry, model: string): Promise<ChampionSpec> {
  const version = await registry.findVersionByAlias(model, ALIAS.champion);
  if (!version) return { ok: false, reason: "no-champion", message: `model ${model} has no ${ALIAS.champion} version` };
  const raw = version.tags[TAG.trainingSpec];
  if (!raw) return { ok: false, reason: "no-lineage", message: `${model} version ${version.version} has no ${TAG.trainingSpec} tag` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: "no-lineage", message: `${TAG.trainingSpec} of ${model} version ${version.version} is not JSON` };
  }
  const parsed = TrainingSpecSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: "no-lineage", message: `${TAG.trainingSpec} of ${model} version ${version.version} is not a valid spec: ${zodIssues(parsed.error).map((i) => `${i.field}: ${i.message}`).join("; ")}` };
  }
  return { ok: true, version: version.version, spec: parsed.data, createdAt: version.creationTimestamp };
}

const asRecord = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? { ...v } : {});

/**
 * training.requested data: the base spec (the champion's, or nothing for a model without lineage), the overrides on top
 * (params and env merged key by key, other fields replaced), the model pinned, and the trigger. Throws ValidationError.
 */
export function requestedData(
  base: TrainingSpec | undefined,
  overrides: Readonly<Record<string, unknown>>,
  model: string,
  trigger: TriggerRef,
): EventData<"training.requested"> {
  const merged: Record<string, unknown> = { ...base, ...overrides, model, trigger };
  if (base && "params" in overrides) merged.params = { ...base.params, ...asRecord(overrides.params) };
  if (base && "env" in overrides) merged.env = { ...base.env, ...asRecord(overrides.env) };
  const parsed = TrainingRequestedDataSchema.safeParse(merged);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, "spec"));
  return parsed.data;
}
