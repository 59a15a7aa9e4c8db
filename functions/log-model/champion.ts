// Moving champion/previous-champion when MLflow has no compare-and-set and log-model runs as several replicas: each
// contender records itself on its version, moves the aliases, then re-reads them and repairs a lost race.
// (A per-model lock in the shared state store can later wrap crown(); the repair stays correct under it.)
import { ALIAS } from "../../platform/lineage.ts";
import { quote, tagsOf, type MlflowClient, type ModelVersion } from "../../platform/mlflow/index.ts";

/** Model-version tag written before the aliases move: {"value": <gate metric>, "against": <champion read>, "at": ms}. */
export const CONTENDER_TAG = "flywheel.champion_contender";
/** Contenders recorded this long before another still count as the same race (a later one is a new generation). */
export const RACE_WINDOW_MS = 10 * 60_000;

export interface Contender {
  readonly model: string;
  readonly version: string;
  /** The champion this contender's gate compared against; undefined for the first champion. */
  readonly against: string | undefined;
  /** The candidate's value of the gate metric. */
  readonly value: number;
  readonly direction: "maximize" | "minimize";
  readonly now: number;
}

export interface Settled {
  readonly champion: string;
  readonly previous: string | undefined;
}

interface Record {
  readonly version: string;
  readonly value: number;
  readonly against: string;
  readonly at: number;
}

function recordOf(v: ModelVersion): Record | undefined {
  const raw = tagsOf(v.tags)[CONTENDER_TAG];
  if (!raw) return undefined;
  try {
    const p: unknown = JSON.parse(raw);
    if (!p || typeof p !== "object") return undefined;
    const o = Object.fromEntries(Object.entries(p));
    return typeof o.value === "number" && typeof o.at === "number"
      ? { version: v.version, value: o.value, against: typeof o.against === "string" ? o.against : "", at: o.at }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Record the contender, move champion (and previous-champion to the champion it beat), then settle the race. */
export async function crown(mlflow: MlflowClient, c: Contender): Promise<Settled> {
  await mlflow.setModelVersionTag(c.model, c.version, CONTENDER_TAG, JSON.stringify({ value: c.value, against: c.against ?? "", at: c.now }));
  await mlflow.setAlias(c.model, ALIAS.champion, c.version);
  if (c.against) await mlflow.setAlias(c.model, ALIAS.previousChampion, c.against);
  return settle(mlflow, c);
}

/**
 * Re-read the aliases and make them what a serial order of the same race would leave: champion = the best contender
 * that compared against the same champion, previous-champion = the next best (or the champion they all beat). The last
 * writer's re-read sees every contender that moved the aliases before it, so the replicas converge.
 */
export async function settle(mlflow: MlflowClient, c: Contender): Promise<Settled> {
  const better = (a: Record, b: Record): number =>
    (c.direction === "maximize" ? b.value - a.value : a.value - b.value) || Number(a.version) - Number(b.version);
  const versions: ModelVersion[] = [];
  for await (const v of mlflow.iterateModelVersions({ filter: `name = ${quote(c.model)}` })) versions.push(v);
  const race = versions
    .map(recordOf)
    .filter((r): r is Record => r !== undefined && r.against === (c.against ?? "") && Math.abs(r.at - c.now) <= RACE_WINDOW_MS)
    .sort(better);
  const champion = race[0]?.version ?? c.version;
  const previous = race[1]?.version ?? c.against;
  const aliases = new Map((await mlflow.getRegisteredModel(c.model)).aliases.map((a) => [a.alias, a.version]));
  if (aliases.get(ALIAS.champion) !== champion) await mlflow.setAlias(c.model, ALIAS.champion, champion);
  if (previous && aliases.get(ALIAS.previousChampion) !== previous) await mlflow.setAlias(c.model, ALIAS.previousChampion, previous);
  return { champion, previous };
}
