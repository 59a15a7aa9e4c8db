// A canary the serving backend runs itself (KServe's canaryTrafficPercent): start it and report, as applyAndReport does
// for an experiment; a retryable failure is rethrown for redelivery. `stableVersion` keeps the rolled-out revision's side.
import { isKnownError, UpstreamError } from "../../platform/errors.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import type { ApplyContext, ServingBackend } from "../../platform/ports.ts";
import type { NativeCanary } from "../../platform/serving/native-canary.ts";
import type { ModelDeployment } from "../../platform/specs/deployment.ts";
import type { DeployModelDeps } from "./deps.ts";
import { emitStatus, statusData, type Cause } from "./emit.ts";

export async function startNativeCanary(
  deps: DeployModelDeps,
  backend: ServingBackend & { readonly canary: NativeCanary },
  spec: ModelDeployment & { readonly version: string },
  ctx: ApplyContext,
  stableVersion: string,
  cause: Cause,
  message: string,
): Promise<{ ready: boolean; outcome: HandlerOutcome }> {
  try {
    const status = await backend.canary.start(spec, ctx, deps.policies.forModel(spec.model).rollout.canaryPercent, stableVersion);
    const ready = status.state === "ready";
    const id = await emitStatus(deps, ready ? "deployment.ready" : "deployment.failed", statusData(status, { reason: "CanaryStarted", message }), cause);
    return { ready, outcome: { status: "done", detail: `${spec.name} ${status.state}: ${message}`, emitted: [id] } };
  } catch (e) {
    if (e instanceof UpstreamError && e.retryable) throw e;
    if (!isKnownError(e)) throw e;
    const failed = { name: spec.name, kind: spec.kind, backend: backend.name, revision: ctx.revision, reason: "CanaryFailed", message: e.message, warnings: [] };
    const id = await emitStatus(deps, "deployment.failed", failed, cause);
    return { ready: false, outcome: { status: "done", detail: `failed: ${e.message}`, emitted: [id] } };
  }
}
