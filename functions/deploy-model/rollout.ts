// Rollout of a promoted version: replace the deployment, or start a canary experiment and later promote/roll it back.
import { ValidationError, isKnownError, UpstreamError } from "../../platform/errors.ts";
import { deriveId } from "../../platform/events/index.ts";
import type { FlywheelEvent } from "../../platform/events/index.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import type { DeploymentStatus, ResolvedModel, ServingBackend } from "../../platform/ports.ts";
import type { DeploymentSpec, ServingBackendName } from "../../platform/specs/deployment.ts";
import { decide, type CanaryEvidence, type CanaryRecord, type CanaryStatsSource, type CandidateStats } from "./canary.ts";
import type { DeployModelDeps } from "./deps.ts";
import { emitStatus, statusData, type Cause } from "./emit.ts";
import { hasNativeCanary } from "../../platform/serving/native-canary.ts";
import { startNativeCanary } from "./native-canary.ts";
import { findVersion, resolveVersion } from "./resolve.ts";

export const revisionOf = (causeId: string, purpose = "revision"): string => deriveId(causeId, purpose).slice(0, 16);
export const candidateName = (name: string, version: string): string => `${name}-v${version}`.slice(0, 63);

export function backendOf(deps: DeployModelDeps, name?: ServingBackendName): ServingBackend {
  const b = deps.backends[name ?? deps.defaultBackend];
  if (!b) throw new ValidationError([{ field: "backend", message: `serving backend ${name ?? deps.defaultBackend} is not configured here` }]);
  return b;
}

/** Apply and emit ready; a permanent failure is emitted as deployment.failed, a retryable one rethrown for redelivery. */
export async function applyAndReport(
  deps: DeployModelDeps,
  backend: ServingBackend,
  spec: DeploymentSpec,
  ctx: Parameters<ServingBackend["apply"]>[1],
  cause: Cause,
  reason: string,
  message?: string,
): Promise<HandlerOutcome> {
  let status: DeploymentStatus;
  try {
    status = await backend.apply(spec, ctx);
  } catch (e) {
    if (e instanceof UpstreamError && e.retryable) throw e;
    const msg = isKnownError(e) ? e.message : "apply failed";
    if (!isKnownError(e)) deps.log.error("deploy-model: apply failed", { name: spec.name, message: e instanceof Error ? e.message : String(e) });
    const failed = { name: spec.name, kind: spec.kind, backend: backend.name, revision: ctx.revision, reason: e instanceof ValidationError ? "Invalid" : "ApplyFailed", message: msg, warnings: [] };
    const id = await emitStatus(deps, "deployment.failed", failed, cause);
    return { status: "done", detail: `failed: ${msg}`, emitted: [id] };
  }
  const event = status.state === "failed" ? "deployment.failed" : "deployment.ready";
  const id = await emitStatus(deps, event, statusData(status, { reason, ...(message ? { message } : {}) }), cause);
  return { status: "done", detail: `${spec.name} ${status.state} at revision ${status.revision}`, emitted: [id] };
}

/**
 * Resolve a version, or report why not: a model or version the registry does not have will not appear on a retry,
 * so it becomes deployment.failed (and the event is done); registry outages are rethrown for redelivery.
 */
export async function resolveOrReport(
  deps: DeployModelDeps,
  target: { name: string; kind: DeploymentSpec["kind"]; backend: ServingBackendName; revision: string },
  model: string,
  sel: { version?: string | undefined; alias?: string | undefined },
  cause: Cause,
): Promise<ResolvedModel | HandlerOutcome> {
  try {
    return await resolveVersion(deps.registry, await findVersion(deps.registry, model, sel), deps.workDir);
  } catch (e) {
    if ((e instanceof UpstreamError && e.retryable) || !isKnownError(e)) throw e;
    const reason = e.status === 404 ? "ModelNotFound" : "ResolveFailed";
    const id = await emitStatus(deps, "deployment.failed", { ...target, reason, message: e.message, warnings: [] }, cause);
    return { status: "done", detail: `failed: ${e.message}`, emitted: [id] };
  }
}

export const isOutcome = (v: ResolvedModel | HandlerOutcome): v is HandlerOutcome => "status" in v;

/** model.promoted: deploy the version under the model's name, by the model's rollout policy. */
export async function rolloutPromoted(deps: DeployModelDeps, ev: FlywheelEvent<"model.promoted">): Promise<HandlerOutcome> {
  const { model, version } = ev.data;
  const name = model;
  const backend = backendOf(deps);
  const revision = revisionOf(ev.id);
  const cause: Cause = { id: ev.id, traceparent: ev.traceparent };
  const current = await backend.get(name);
  const active = await deps.canaries.get(name);
  if (current && current.revision === revision) {
    const id = await emitStatus(deps, "deployment.ready", statusData(current), cause);
    return { status: "duplicate", detail: `${name} already at revision ${revision}`, emitted: [id] };
  }
  const policy = deps.policies.forModel(model).rollout;
  const resolved = await resolveOrReport(deps, { name, kind: "model", backend: backend.name, revision }, model, { version }, cause);
  if (isOutcome(resolved)) return resolved;
  const stableVersion = active?.stable.version ?? (current?.kind === "model" ? current.version : undefined);
  const canary = policy.strategy === "canary" && ev.data.cause !== "rollback" && stableVersion !== undefined && stableVersion !== version;
  if (!canary) {
    const spec: DeploymentSpec = { kind: "model", name, model, version };
    const out = await applyAndReport(deps, backend, spec, { revision, models: { [name]: resolved } }, cause, "Promoted", `${model} v${version} replaces the deployment`);
    if (active) {
      // The name is a model again, so the canary's candidates are unreferenced now.
      for (const d of [active.candidate.deployment, active.stable.deployment]) await backend.remove(d).catch(() => undefined);
      await deps.canaries.delete(name);
    }
    return out;
  }
  const stable = { deployment: candidateName(name, stableVersion), version: stableVersion };
  const cand = { deployment: candidateName(name, version), version };
  const message = `canary: ${model} v${version} at ${policy.canaryPercent}%, v${stableVersion} at ${100 - policy.canaryPercent}%; decides after ${policy.decideAfterRequests} requests or ${policy.decideAfterMinutes} min`;
  const record = { name, model, backend: backend.name, stable, candidate: cand, percent: policy.canaryPercent, revision, cause, policy };
  if (hasNativeCanary(backend)) {
    // KServe: the InferenceService's own canaryTrafficPercent; the names above only label the two revisions' numbers.
    const started = await startNativeCanary(deps, backend, { kind: "model", name, model, version }, { revision, models: { [name]: resolved } }, stableVersion, cause, message);
    if (started.ready) await deps.canaries.put({ ...record, startedAt: deps.now() });
    return started.outcome;
  }
  // Canary: stable and candidate as their own model deployments, the name becomes an experiment over them.
  const stableResolved = await resolveVersion(deps.registry, await findVersion(deps.registry, model, { version: stableVersion }), deps.workDir);
  const ctx = { revision, models: { [stable.deployment]: stableResolved, [cand.deployment]: resolved } };
  for (const [dep, v] of [[stable.deployment, stableVersion], [cand.deployment, version]] as const) {
    const out = await applyAndReport(deps, backend, { kind: "model", name: dep, model, version: v }, ctx, cause, "CanaryCandidate");
    if ((await backend.get(dep))?.state !== "ready") return out;
  }
  const spec: DeploymentSpec = {
    kind: "experiment",
    name,
    candidates: [
      { name: stable.deployment, weight: 100 - policy.canaryPercent },
      { name: cand.deployment, weight: policy.canaryPercent },
    ],
    default: stable.deployment,
    resourceType: "model",
  };
  const out = await applyAndReport(deps, backend, spec, ctx, cause, "CanaryStarted", message);
  const now = await backend.get(name);
  if (now?.revision !== revision || now.state !== "ready") return out;
  if (active && active.candidate.deployment !== cand.deployment) await backend.remove(active.candidate.deployment).catch(() => undefined);
  await deps.canaries.put({ ...record, startedAt: deps.now() });
  return out;
}

/** Promote or roll back a running canary (automatic decision or a manual deployment.requested). */
export async function finishCanary(deps: DeployModelDeps, rec: CanaryRecord, decision: "promote" | "rollback", reason: string, evidence?: CanaryEvidence): Promise<HandlerOutcome> {
  const backend = backendOf(deps, rec.backend);
  const keep = decision === "promote" ? rec.candidate : rec.stable;
  const revision = revisionOf(rec.revision, decision);
  const resolved = await resolveVersion(deps.registry, await findVersion(deps.registry, rec.model, { version: keep.version }), deps.workDir);
  const keepSpec = { kind: "model", name: rec.name, model: rec.model, version: keep.version } as const;
  let status: DeploymentStatus;
  if (hasNativeCanary(backend)) {
    status = decision === "promote" ? await backend.canary.promote(rec.name, revision) : await backend.canary.rollback(keepSpec, { revision, models: { [rec.name]: resolved } });
  } else {
    status = await backend.apply(keepSpec, { revision, models: { [rec.name]: resolved } });
    for (const d of [rec.candidate.deployment, rec.stable.deployment]) await backend.remove(d);
  }
  if (decision === "rollback") {
    // The gate made the new version champion; it no longer serves, so the alias follows what does.
    await deps.registry.setAlias(rec.model, "champion", rec.stable.version).catch((e: unknown) =>
      deps.log.warn("deploy-model: could not reset champion alias", { model: rec.model, message: e instanceof Error ? e.message : String(e) }),
    );
  }
  await deps.canaries.delete(rec.name);
  const event = decision === "promote" ? "deployment.promoted" : "deployment.rolled_back";
  const id = await emitStatus(deps, event, statusData(status, { reason: decision === "promote" ? "CanaryPassed" : "CanaryFailed", message: reason, ...(evidence ? { canary: evidence } : {}) }), { id: revision, traceparent: rec.cause.traceparent });
  return { status: "done", detail: `${rec.name}: ${decision} (${reason})`, emitted: [id] };
}

/** Check every running canary once; call it periodically (embedded: an interval; Knative: a PingSource). */
export async function canaryTick(deps: DeployModelDeps): Promise<HandlerOutcome[]> {
  const out: HandlerOutcome[] = [];
  // Without numbers there is nothing to compare: deciding on time alone would roll every canary back.
  if (!deps.canaryStats) return out;
  const stats = deps.canaryStats;
  for (const rec of await deps.canaries.all()) {
    const source = stats.source ?? "in-process";
    const verdict = decide(rec, await stats.stats(rec.name, rec.startedAt), deps.now(), source);
    if (verdict.decision === "wait") continue;
    deps.log.info("deploy-model: canary decided", { name: rec.name, decision: verdict.decision, reason: verdict.reason });
    out.push(
      await deps.queue.run(rec.name, async () => {
        // Another replica (or a manual promote) may have decided it, or a newer canary replaced it, while we waited.
        const current = await deps.canaries.get(rec.name);
        return current?.revision === rec.revision ? finishCanary(deps, rec, verdict.decision, verdict.reason, verdict.evidence) : { status: "duplicate" as const };
      }),
    );
  }
  return out;
}

/** Run canaryTick every intervalMs (embedded mode). Returns a stop function; a failing tick is logged, never thrown. */
export function startCanaryLoop(deps: DeployModelDeps, intervalMs = 15_000): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    canaryTick(deps)
      .catch((e: unknown) => deps.log.warn("deploy-model: canary check failed", { message: e instanceof Error ? e.message : String(e) }))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The embedded backend's experiment tallies as the canary's numbers. */
export function localCanaryStats(backend: { stats(name: string): Readonly<Record<string, CandidateStats>> | undefined }): CanaryStatsSource {
  return { source: "in-process", stats: async (name) => backend.stats(name) };
}
