// The retrain guards as a pure function of the policy, the model's recent trainings and the clock (table-tested).
import type { RetrainPolicy } from "../../platform/policies/retrain.ts";
import type { TrainingRecord } from "./store.ts";

export const DAY_MS = 24 * 60 * 60 * 1000;

export const SKIP_REASONS = [
  "disabled",
  "in-flight",
  "cooldown",
  "daily-cap",
  "no-champion",
  "no-lineage",
  "not-drift-alert",
  "no-model-label",
  "invalid-request",
  "resolved",
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: SkipReason; readonly message: string };

/** How far back the guards need history: a day for the cap, plus the cooldown after the longest possible job. */
export function historyWindowMs(policy: RetrainPolicy): number {
  return DAY_MS + policy.cooldownMinutes * 60_000 + 7 * DAY_MS;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * In order: the policy is enabled; fewer than maxInFlight trainings of the model are running (any reason: a scheduled
 * or Kafka retrain already in flight will produce a new version too); the last drift retrain ended at least
 * cooldownMinutes ago; fewer than dailyCap drift retrains were requested in the last 24 hours (rolling).
 * A training with no outcome past its staleAt counts as ended at staleAt (its terminal event was lost).
 */
export function checkGuards(policy: RetrainPolicy, trainings: readonly TrainingRecord[], now: number): GuardVerdict {
  if (!policy.enabled) return { ok: false, reason: "disabled", message: "retrain is disabled for this model by policy" };
  const running = trainings.filter((t) => t.finishedAt === undefined && now < t.staleAt);
  if (running.length >= policy.maxInFlight) {
    return {
      ok: false,
      reason: "in-flight",
      message: `${running.length} training(s) already in flight (max ${policy.maxInFlight}): ${running.map((t) => t.trainingEventId).join(", ")}`,
    };
  }
  const drift = trainings.filter((t) => t.reason === "drift");
  const ends = drift.map((t) => t.finishedAt ?? (now >= t.staleAt ? t.staleAt : undefined)).filter((x): x is number => x !== undefined);
  const lastEnd = ends.length ? Math.max(...ends) : undefined;
  const cooldownMs = policy.cooldownMinutes * 60_000;
  if (lastEnd !== undefined && now - lastEnd < cooldownMs) {
    return { ok: false, reason: "cooldown", message: `last drift retrain ended at ${iso(lastEnd)}; cooling down until ${iso(lastEnd + cooldownMs)}` };
  }
  const today = drift.filter((t) => t.requestedAt > now - DAY_MS && t.requestedAt <= now);
  if (today.length >= policy.dailyCap) {
    const oldest = Math.min(...today.map((t) => t.requestedAt));
    const next = Number.isFinite(oldest) ? `; next allowed at ${iso(oldest + DAY_MS)}` : "";
    return { ok: false, reason: "daily-cap", message: `${today.length} drift retrain(s) in the last 24 h (cap ${policy.dailyCap})${next}` };
  }
  return { ok: true };
}
