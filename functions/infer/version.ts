// Which registry version answered a request. A V2 runtime's model_version is its own numbering (Triton and MLServer
// usually answer "1"), not the registry's, so it is believed only when it names a version the deployment serves;
// otherwise the deployment record (one revision serves) decides, and during a native canary an answer that names
// neither arm is attributed to no version rather than guessed.
import type { DeploymentStatus } from "../../platform/ports.ts";

/** The two arms' registry versions while a native canary runs (undefined otherwise). */
export type CanaryArms = readonly [stable: string, candidate: string] | undefined;

/** Pure decision: the reported version if it is a version being served, else the record's; undefined = unknown arm. */
export function attributeVersion(reported: string | undefined, recorded: string | undefined, arms: CanaryArms): string | undefined {
  if (arms) return reported !== undefined && arms.includes(reported) ? reported : undefined;
  return recorded;
}

/** The arms come with the status (backends with native canaries fill them from the object they read). */
export function answeredVersion(answered: DeploymentStatus, reported: string | undefined): string | undefined {
  return attributeVersion(reported, answered.version, answered.kind === "model" ? answered.canaryVersions : undefined);
}
