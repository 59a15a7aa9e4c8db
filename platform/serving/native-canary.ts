// Canaries a serving backend runs itself (KServe: the InferenceService's own canaryTrafficPercent), instead of
// deploy-model's experiment over two deployments. deploy-model uses it when its backend offers it.
import type { ApplyContext, DeploymentStatus, ServingBackend } from "../ports.ts";
import type { ModelDeployment } from "../specs/deployment.ts";

/** The two revisions serving a native canary, and the model version each serves (metrics are per revision). */
export interface CanaryRevisions {
  readonly stable: { readonly revision: string; readonly version: string };
  readonly candidate: { readonly revision: string; readonly version: string };
}

export interface NativeCanary {
  /** Roll the new version out to `percent`% of the deployment's traffic; the last rolled-out revision keeps the rest. */
  start(spec: ModelDeployment, ctx: ApplyContext, percent: number, stableVersion: string): Promise<DeploymentStatus>;
  /** The new revision takes all traffic. */
  promote(name: string, revision: string): Promise<DeploymentStatus>;
  /** All traffic back on the previous revision; the deployment names the stable version again. */
  rollback(stable: ModelDeployment, ctx: ApplyContext): Promise<DeploymentStatus>;
  /** Undefined while no canary runs or the controller has not reported both revisions yet. */
  revisions(name: string): Promise<CanaryRevisions | undefined>;
}

export function hasNativeCanary(b: ServingBackend): b is ServingBackend & { readonly canary: NativeCanary } {
  const c: unknown = (b as { canary?: unknown }).canary;
  return typeof c === "object" && c !== null && typeof (c as { start?: unknown }).start === "function";
}
