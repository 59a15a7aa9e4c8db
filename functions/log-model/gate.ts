// The evaluation gate, as a pure function: floors first, then the candidate against the champion on the policy metric.
import type { EventData, GateEvaluation } from "../../platform/events/index.ts";
import type { GatePolicy } from "../../platform/policies/gate.ts";

export type GateResult = EventData<"model.rejected">["gate"];

export interface GateDecision {
  readonly passed: boolean;
  readonly result: GateResult;
}

const fmt = (n: number): string => String(Number(n.toPrecision(6)));

/**
 * Decide whether a candidate replaces the champion.
 * - Every floor must hold (lower bound when maximized, upper bound when minimized).
 * - With no champion (or a champion without the metric) the floors alone decide.
 * - Otherwise the candidate must beat the champion by at least minImprovement in the policy's direction.
 */
export function evaluateGate(
  policy: GatePolicy,
  recordedCandidate: Readonly<Record<string, number>>,
  recordedChampion: Readonly<Record<string, number>> | undefined,
  evaluation?: GateEvaluation,
): GateDecision {
  const reasons: string[] = [];
  let passed = true;
  // Scores on one shared holdout replace the recorded metrics, which each version measured on its own data.
  const fair = evaluation && evaluation.metric === policy.metric ? evaluation : undefined;
  const candidate = fair ? { ...recordedCandidate, [policy.metric]: fair.candidate } : recordedCandidate;
  const champion = fair && recordedChampion && fair.champion !== null ? { ...recordedChampion, [policy.metric]: fair.champion } : recordedChampion;
  if (fair) reasons.push(`scored on the same holdout: ${fair.dataset}, ${fair.rows} rows, by ${fair.method}`);
  else if (recordedChampion) reasons.push("compared recorded metrics (no shared holdout for this flavor)");
  if (fair && recordedChampion && fair.champion === null) {
    passed = false;
    reasons.push("the champion could not be scored on the holdout, so no fair comparison was possible");
  }
  const cand = candidate[policy.metric];
  const champ = champion?.[policy.metric];

  for (const [metric, bound] of Object.entries(policy.floors)) {
    const dir = metric === policy.metric ? policy.direction : (policy.floorDirections[metric] ?? policy.direction);
    const v = candidate[metric];
    if (v === undefined || !Number.isFinite(v)) {
      passed = false;
      reasons.push(`candidate has no value for floor metric ${metric}`);
    } else if (dir === "maximize" ? v < bound : v > bound) {
      passed = false;
      reasons.push(`${metric} ${fmt(v)} is ${dir === "maximize" ? "below the floor" : "above the ceiling"} ${fmt(bound)}`);
    } else {
      reasons.push(`${metric} ${fmt(v)} meets the ${dir === "maximize" ? "floor" : "ceiling"} ${fmt(bound)}`);
    }
  }

  if (cand === undefined || !Number.isFinite(cand)) {
    passed = false;
    reasons.push(`candidate has no value for ${policy.metric}`);
  } else if (champion === undefined) {
    reasons.push("no champion yet");
  } else if (champ === undefined || !Number.isFinite(champ)) {
    reasons.push(`champion has no value for ${policy.metric}`);
  } else {
    const gain = policy.direction === "maximize" ? cand - champ : champ - cand;
    // A tiny epsilon so that 0.9 - 0.8 >= 0.1 holds despite floating point.
    const tie = Math.abs(gain) <= 1e-12;
    if (tie && !policy.allowTie) {
      passed = false;
      reasons.push(`${policy.metric} ${fmt(cand)} vs champion ${fmt(champ)}: a tie does not promote (allowTie: false)`);
    } else if (gain + 1e-12 >= policy.minImprovement) {
      reasons.push(`${policy.metric} ${fmt(cand)} vs champion ${fmt(champ)}: improvement ${fmt(gain)} >= ${fmt(policy.minImprovement)}`);
    } else {
      passed = false;
      reasons.push(`${policy.metric} ${fmt(cand)} vs champion ${fmt(champ)}: improvement ${fmt(gain)} < required ${fmt(policy.minImprovement)}`);
    }
  }

  return {
    passed,
    result: {
      metric: policy.metric,
      direction: policy.direction,
      candidate: cand !== undefined && Number.isFinite(cand) ? cand : null,
      champion: champ !== undefined && Number.isFinite(champ) ? champ : null,
      minImprovement: policy.minImprovement,
      floors: { ...policy.floors },
      reasons,
      ...(fair ? { evaluation: fair } : {}),
    },
  };
}
