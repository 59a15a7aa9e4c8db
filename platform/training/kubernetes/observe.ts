// Status of one observed object (training object or pod) as a JobUpdate: the mapping plus the failing pod's details.
import { errorFields, type Logger } from "../../log.ts";
import { isTerminal, type JobRecord } from "../../ports.ts";
import type { JobUpdate } from "../updates.ts";
import type { TrainingKubeClient } from "./kube-client.ts";
import { ANNOTATIONS, LABELS, isTrainingObjectKind, recordFromObject, type KubeObject, type TrainingObjectKind } from "./meta.ts";
import { failedExitCode, podForRank, podRank, podSelector, TRAINER_CONTAINER } from "./pods.ts";
import { mapTrainingStatus } from "./status.ts";

export interface StatusDeps {
  readonly client: TrainingKubeClient;
  /** Object kinds this configuration creates (where a pod's owner can be). */
  readonly kinds: readonly TrainingObjectKind[];
  /** The object kind already recorded for a job id, if any. */
  readonly knownKind: (jobId: string) => string | undefined;
  readonly now: () => number;
  readonly log: Logger;
}

/**
 * What an object's current status means for its job, without touching the store: used by the ApiServerSource
 * trigger (stateless) and by the backend's watch. Failures are enriched with the failing pod's exit code and log tail.
 */
export async function statusUpdateFor(o: KubeObject, d: StatusDeps): Promise<JobUpdate | undefined> {
  const verdict = mapTrainingStatus(o);
  if (!verdict) return undefined;
  const owner = o.kind === "Pod" ? await ownerOf(o, d) : o;
  const base = owner ? recordFromObject(owner) : undefined;
  if (!base || !owner) return undefined;
  let exitCode: number | undefined;
  let rank: number | undefined;
  let logTail: string | undefined;
  const objectKind = base.object?.kind;
  if (verdict.state === "failed" && isTrainingObjectKind(objectKind)) {
    ({ exitCode, rank, logTail } = await failureDetails(d, objectKind, base.id, base.object?.name ?? base.id, o.kind === "Pod" ? o : undefined));
  }
  const at = verdict.finishedAt ?? d.now();
  const job: JobRecord = {
    ...base,
    state: verdict.state,
    startedAt: verdict.startedAt,
    finishedAt: isTerminal(verdict.state) ? at : undefined,
    exitCode,
    failedRank: rank,
    failureReason: verdict.state === "failed" ? verdict.reason : undefined,
    message: verdict.message,
    history: [],
  };
  const transition = { state: verdict.state, at: isTerminal(verdict.state) ? at : d.now(), reason: verdict.reason, message: verdict.message };
  return { job: { ...job, history: [transition] }, transition, logTail, traceparent: owner.metadata.annotations?.[ANNOTATIONS.traceparent] };
}

/** The training object a pod belongs to (its job-id label and the kind this configuration uses for the spec kind). */
async function ownerOf(pod: KubeObject, d: StatusDeps): Promise<KubeObject | undefined> {
  const id = pod.metadata.labels?.[LABELS.jobId];
  if (!id) return undefined;
  const known = d.knownKind(id);
  const kinds = isTrainingObjectKind(known) ? [known] : d.kinds;
  for (const k of kinds) {
    const o = await d.client.read(k, id);
    if (o) return { ...o, kind: k };
  }
  return undefined;
}

async function failureDetails(d: StatusDeps, kind: TrainingObjectKind, jobId: string, name: string, failedPod: KubeObject | undefined): Promise<{ exitCode?: number; rank?: number; logTail?: string }> {
  try {
    if (failedPod) return { rank: podRank(kind, failedPod), logTail: "" };
    const pods = (await d.client.pods(podSelector(kind, jobId, name))).items;
    const bad = pods.find((p) => failedExitCode(kind, p) !== undefined);
    const pod = bad ?? podForRank(kind, pods, 0);
    if (!pod?.metadata.name) return {};
    const lines: string[] = [];
    for await (const l of d.client.podLog(pod.metadata.name, TRAINER_CONTAINER[kind], { follow: false, tailLines: 40 })) lines.push(l);
    return { exitCode: bad ? failedExitCode(kind, bad) : undefined, rank: podRank(kind, pod), logTail: lines.join("\n") };
  } catch (e) {
    d.log.warn("could not read the failed pod", { jobId, ...errorFields(e) });
    return {};
  }
}
