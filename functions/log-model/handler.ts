// log-model: training.succeeded -> registered, lineage-tagged model version, model.logged, then the champion gate.
// Also model.promotion.requested -> manual promote or rollback of the champion alias.
import { buildEvent, deriveId, eventType, parseEventAs, type AnyCloudEvent, type FlywheelEvent } from "../../platform/events/index.ts";
import type { HandlerOutcome } from "../../platform/fn/types.ts";
import type { LogModelDeps } from "./deps.ts";
import { localDir, readOutputs, type TrainingOutputs } from "./outputs.ts";
import { applyGate, applyPromotion, SOURCE } from "./promote.ts";
import { register } from "./register.ts";
import { fairScores } from "./fair.ts";
import { logDataLineage } from "./data-lineage.ts";

async function onSucceeded(ev: FlywheelEvent<"training.succeeded">, deps: LogModelDeps): Promise<HandlerOutcome> {
  const d = ev.data;
  const dir = localDir(d.artifactUri, deps.artifactsPvcDir);
  const out: TrainingOutputs | undefined = dir ? readOutputs(dir) : undefined;
  if (!dir) deps.log.warn("log-model: artifactUri is not local; registering the run's own model/ artifacts", { artifactUri: d.artifactUri });
  // metrics.json is the gate's source of truth; the event's metrics fill in what it lacks.
  const metrics = { ...d.metrics, ...out?.metrics };

  // One delivery of an event at a time in this process; duplicates in other processes are reconciled in register().
  return deps.locks.run(`event:${ev.id}`, async () => {
    const reg = await register(deps, ev, out, metrics);
    if (reg.created && out && reg.run) await logDataLineage(deps, d.model, reg.version.version, reg.run.info.run_id, out.dir, d.spec.dataset);
    const logged = buildEvent("model.logged", {
      model: d.model, version: reg.version.version, runId: reg.run?.info.run_id ?? "", experimentId: reg.experimentId,
      source: reg.version.source, flavor: out?.flavor ?? "unknown", metrics, jobId: d.jobId, trigger: d.trigger,
    }, { source: SOURCE, causedBy: { id: ev.id, traceparent: ev.traceparent }, id: deriveId(ev.id, "model.logged"), subject: d.model });
    // model.logged goes out first, always; a replay re-sends it with the same id.
    await deps.bus.emit(logged);
    const gate = await deps.locks.run(`model:${d.model}`, async () => {
      const fresh = await deps.mlflow.getModelVersion(d.model, reg.version.version);
      return applyGate(deps, { id: ev.id, traceparent: ev.traceparent }, fresh, metrics, d.trigger, (champion) => fairScores(deps, d.model, out, champion));
    });
    const emitted: AnyCloudEvent[] = [logged, ...gate.emitted];
    return {
      status: reg.created || !gate.duplicate ? "done" : "duplicate",
      detail: `${d.model} v${reg.version.version}: ${gate.duplicate ? "gate already decided" : gate.decision.passed ? "promoted" : "rejected"}`,
      emitted: emitted.map((e) => e.id),
    };
  });
}

async function onPromotion(ev: FlywheelEvent<"model.promotion.requested">, deps: LogModelDeps): Promise<HandlerOutcome> {
  const r = await deps.locks.run(`model:${ev.data.model}`, () => applyPromotion(deps, ev));
  return {
    status: r.duplicate ? "duplicate" : "done",
    detail: `${ev.data.action} ${ev.data.model}`,
    emitted: r.emitted.map((e) => e.id),
  };
}

/** The pure handler: (event, deps) -> outcome. Bad events throw ValidationError (a 4xx, never retried). */
export async function logModelHandler(event: AnyCloudEvent, deps: LogModelDeps): Promise<HandlerOutcome> {
  if (event.type === eventType("training.succeeded")) return onSucceeded(parseEventAs("training.succeeded", event), deps);
  if (event.type === eventType("model.promotion.requested")) return onPromotion(parseEventAs("model.promotion.requested", event), deps);
  return { status: "ignored", detail: `log-model does not handle ${event.type}` };
}
