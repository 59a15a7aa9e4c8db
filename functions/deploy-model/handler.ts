// deploy-model: model.promoted -> rollout by policy; deployment.requested -> deploy / undeploy / promote / rollback.
// model.logged is ignored: the registry's evaluation gate decides what gets promoted.
import { ValidationError } from "../../platform/errors.ts";
import { parseEvent, PING_EVENT_TYPE, type AnyCloudEvent, type FlywheelEvent } from "../../platform/events/index.ts";
import { ALIAS } from "../../platform/lineage.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import type { ResolvedModel, ServingBackend } from "../../platform/ports.ts";
import type { DeployModelDeps } from "./deps.ts";
import { emitStatus, statusData, type Cause } from "./emit.ts";
import { resolveVersion, type findVersion } from "./resolve.ts";
import { applyAndReport, backendOf, canaryTick, finishCanary, isOutcome, resolveOrReport, revisionOf, rolloutPromoted } from "./rollout.ts";

export async function deployModelHandler(ce: AnyCloudEvent, deps: DeployModelDeps): Promise<HandlerOutcome> {
  // Knative: the canary-check PingSource (manifests) wakes us to decide running canaries. Idempotent: a canary that
  // was decided already is gone from the store, and each decision's event id derives from the canary's revision.
  if (ce.type === PING_EVENT_TYPE) {
    const outs = await canaryTick(deps);
    return { status: outs.length ? "done" : "ignored", detail: `${outs.length} canary decision(s)`, emitted: outs.flatMap((o) => o.emitted ?? []) };
  }
  const ev = parseEvent(ce);
  switch (ev.name) {
    case "model.promoted": {
      const e = ev as FlywheelEvent<"model.promoted">;
      return deps.queue.run(e.data.model, () => rolloutPromoted(deps, e));
    }
    case "deployment.requested": {
      const e = ev as FlywheelEvent<"deployment.requested">;
      const name = e.data.action === "deploy" ? e.data.spec.name : e.data.name;
      return deps.queue.run(name, () => requested(deps, e));
    }
    default:
      return { status: "ignored", detail: `deploy-model does not handle ${ev.type}` };
  }
}

async function requested(deps: DeployModelDeps, ev: FlywheelEvent<"deployment.requested">): Promise<HandlerOutcome> {
  const cause: Cause = { id: ev.id, traceparent: ev.traceparent };
  const data = ev.data;
  const revision = revisionOf(ev.id);
  if (data.action === "deploy") {
    const backend = backendOf(deps, data.backend);
    const current = await backend.get(data.spec.name);
    if (current && current.revision === revision && current.state === "ready") {
      const id = await emitStatus(deps, "deployment.ready", statusData(current), cause);
      return { status: "duplicate", emitted: [id] };
    }
    const models: Record<string, ResolvedModel> = {};
    if (data.spec.kind === "model") {
      const target = { name: data.spec.name, kind: data.spec.kind, backend: backend.name, revision };
      const resolved = await resolveOrReport(deps, target, data.spec.model, { version: data.spec.version, alias: data.spec.alias }, cause);
      if (isOutcome(resolved)) return resolved;
      models[data.spec.name] = resolved;
    }
    return applyAndReport(deps, backend, data.spec, { revision, models }, cause, "Requested");
  }
  const found = await locate(deps, data.name);
  const canary = await deps.canaries.get(data.name);
  if (data.action === "undeploy") {
    if (!found) return { status: "duplicate", detail: `${data.name} is not deployed` };
    const { backend, status } = found;
    await backend.remove(data.name);
    if (canary) {
      for (const d of [canary.candidate.deployment, canary.stable.deployment]) await backend.remove(d).catch(() => undefined);
      await deps.canaries.delete(data.name);
    }
    const id = await emitStatus(deps, "deployment.removed", statusData(status, { reason: "Undeployed" }), cause);
    return { status: "done", emitted: [id] };
  }
  if (canary) return finishCanary(deps, canary, data.action, `manual ${data.action} requested`);
  if (data.action === "promote") {
    throw new ValidationError([{ field: "data.name", message: `no canary is running for ${data.name}: nothing to promote` }]);
  }
  // Manual rollback of a plain model deployment: back to the previous champion.
  if (!found || found.status.kind !== "model" || !found.status.model) {
    throw new ValidationError([{ field: "data.name", message: `${data.name} is not a deployed model: nothing to roll back` }]);
  }
  const { backend, status } = found;
  const model = status.model ?? data.name;
  const previous = await previousVersion(deps, model, status.version);
  const resolved = await resolveVersion(deps.registry, previous, deps.workDir);
  const applied = await backend.apply({ kind: "model", name: data.name, model, version: previous.version }, { revision, models: { [data.name]: resolved } });
  await deps.registry.setAlias(model, ALIAS.champion, previous.version);
  const id = await emitStatus(deps, "deployment.rolled_back", statusData(applied, { reason: "ManualRollback", message: `v${status.version ?? "?"} -> v${previous.version}` }), cause);
  return { status: "done", emitted: [id] };
}

async function locate(deps: DeployModelDeps, name: string): Promise<{ backend: ServingBackend; status: NonNullable<Awaited<ReturnType<ServingBackend["get"]>>> } | undefined> {
  for (const backend of Object.values(deps.backends)) {
    const status = await backend?.get(name);
    if (backend && status) return { backend, status };
  }
  return undefined;
}

async function previousVersion(deps: DeployModelDeps, model: string, current: string | undefined): ReturnType<typeof findVersion> {
  // No previous-champion alias: fall back to the newest version older than the current one.
  const prev = await deps.registry.findVersionByAlias(model, ALIAS.previousChampion);
  if (prev && prev.version !== current) return prev;
  const older = (await deps.registry.searchModelVersions(model))
    .filter((v) => current === undefined || Number(v.version) < Number(current))
    .sort((a, b) => Number(b.version) - Number(a.version))[0];
  if (!older) throw new ValidationError([{ field: "data.name", message: `${model} has no version before v${current ?? "?"} to roll back to` }]);
  return older;
}
