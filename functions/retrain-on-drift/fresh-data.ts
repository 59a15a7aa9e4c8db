// The new-data policy: a retrain with no labelled feedback since the champion was registered would learn the same
// data again (and the gate would see a tie), so it is skipped with a reason instead.
import type { RetrainPolicy } from "../../platform/policies/retrain.ts";
import type { RetrainDeps } from "./deps.ts";

export function newDataCheck(
  deps: Pick<RetrainDeps, "labelledSince">,
  policy: RetrainPolicy,
  model: string,
  champion: { readonly version: string; readonly createdAt: number },
): { ok: true; rows: number | undefined } | { ok: false; message: string } {
  if (!policy.requireNewData || !deps.labelledSince) return { ok: true, rows: undefined };
  const rows = deps.labelledSince(model, champion.createdAt);
  if (rows > 0) return { ok: true, rows };
  return {
    ok: false,
    message: `no labelled feedback for ${model} since champion version ${champion.version} was registered (${new Date(champion.createdAt).toISOString()}): a retrain would learn the same data. Send labels to POST /feedback/{deployment}, or set retrain.requireNewData: false`,
  };
}
