// Where window retention learns what is still in use: unfinished trainings (the backend's records, or in Knative the
// training objects left in the cluster) and the lineage tags of the model's registered versions.
import { TAG } from "../lineage.ts";
import type { JobState, ModelVersionInfo, TrainingBackend } from "../ports.ts";
import { LABELS, MANAGED_BY, labelValue, type KubeObject, type TrainingObjectKind } from "../training/kubernetes/meta.ts";
import type { WindowUse } from "./retention.ts";

const UNFINISHED: readonly JobState[] = ["pending", "running"];

/** Embedded: the local backend records every job and follows its state, so unfinished ones are a query away. */
export function backendActiveJobs(backend: Pick<TrainingBackend, "list">): WindowUse["activeJobs"] {
  return async (model) => {
    const ids: string[] = [];
    for (const state of UNFINISHED) ids.push(...(await backend.list({ model, state, limit: 1000 })).map((j) => j.id));
    return ids;
  };
}

/**
 * Knative: launch-training's own records are per pod and never see a status, so the cluster is asked. Every training
 * object of the model still there counts (a finished one until its TTL removes it): more kept, never too little.
 */
export function clusterActiveJobs(
  client: { list(kind: TrainingObjectKind, labelSelector: string): Promise<{ items: readonly KubeObject[] }> },
  kinds: readonly TrainingObjectKind[],
): WindowUse["activeJobs"] {
  return async (model) => {
    const selector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.model}=${labelValue(model)}`;
    const lists = await Promise.all(kinds.map((k) => client.list(k, selector)));
    return lists.flatMap((l) => l.items.flatMap((o) => o.metadata.labels?.[LABELS.jobId] ?? o.metadata.name ?? []));
  };
}

const obj = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? { ...v } : {});
const json = (raw: string | undefined): Record<string, unknown> => {
  try {
    return obj(JSON.parse(raw ?? ""));
  } catch {
    return {};
  }
};
const str = (v: unknown): string[] => (typeof v === "string" && v ? [v] : []);

/** The windows a version records: its data tag's window (log-model, from the job's data.json) and its spec's env. */
export function versionWindows(v: Pick<ModelVersionInfo, "tags">): string[] {
  const data = json(v.tags[TAG.data]);
  const spec = json(v.tags[TAG.trainingSpec]);
  return [...str(obj(data.window).uri), ...str(obj(spec.env).FLYWHEEL_WINDOW_DATASET)];
}

/** Every version still registered (a deleted version no longer holds its data), whatever its alias or stage. */
export function registeredWindows(search: (model: string) => Promise<readonly Pick<ModelVersionInfo, "tags">[]>): WindowUse["registered"] {
  return async (model) => (await search(model)).flatMap(versionWindows);
}
