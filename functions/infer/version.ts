// Which registry version answered a request. A V2 runtime's model_version is its own numbering (Triton and MLServer
// usually answer "1"), not the registry's, so it is believed only when it names a version the deployment serves;
// otherwise the deployment record (one revision serves) decides, and during a native canary an answer that names
// neither arm is attributed to no version rather than guessed.
import type { DeploymentStatus } from "../../platform/ports.ts";
import { hasNativeCanary } from "../../platform/serving/native-canary.ts";
import type { InferDeps } from "./deps.ts";

/** The two arms' registry versions while a native canary runs (undefined otherwise). */
export type CanaryArms = readonly [stable: string, candidate: string] | undefined;

/** Pure decision: the reported version if it is a version being served, else the record's; undefined = unknown arm. */
export function attributeVersion(reported: string | undefined, recorded: string | undefined, arms: CanaryArms): string | undefined {
  if (arms) return reported !== undefined && arms.includes(reported) ? reported : undefined;
  return recorded;
}

/** Reads the canary arms only when the backend runs canaries itself (KServe); one extra read of the deployment. */
export async function answeredVersion(deps: Pick<InferDeps, "backend">, answered: DeploymentStatus, reported: string | undefined): Promise<string | undefined> {
  if (answered.kind !== "model" || !hasNativeCanary(deps.backend)) return attributeVersion(reported, answered.version, undefined);
  const r = await deps.backend.canary.revisions(answered.name);
  return attributeVersion(reported, answered.version, r ? [r.stable.version, r.candidate.version] : undefined);
}
