// Turns backend job transitions into training.started / succeeded / failed / cancelled events on the EventBus.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { buildEvent, deriveId, type AnyCloudEvent } from "../events/envelope.ts";
import { errorFields, type Logger } from "../log.ts";
import type { EventBus, JobRecord } from "../ports.ts";
import type { JobListener, JobUpdate } from "./updates.ts";

export const TRAINING_EVENT_SOURCE = "/flywheel/functions/launch-training";

/** The event a transition becomes, or undefined for `pending` (nothing to announce). Ids derive from the job id. */
export function trainingEventFor(update: JobUpdate, source = TRAINING_EVENT_SOURCE): AnyCloudEvent | undefined {
  const { job, transition: t } = update;
  const ref = {
    jobId: job.id,
    model: job.model,
    kind: job.kind,
    backend: job.backend,
    trigger: job.trigger,
    ...(job.object ? { object: job.object } : {}),
  };
  const opts = { source, subject: job.id, ...(update.traceparent ? { traceparent: update.traceparent } : {}) };
  const at = t.at;
  switch (t.state) {
    case "pending":
      return undefined;
    case "running":
      return buildEvent("training.started", { ...ref, spec: job.spec, startedAt: job.startedAt ?? at }, { ...opts, id: deriveId(job.id, "training.started") });
    case "succeeded": {
      const outputs = readOutputs(job.artifactUri);
      return buildEvent(
        "training.succeeded",
        {
          ...ref,
          spec: job.spec,
          artifactUri: job.artifactUri ?? `job:${job.id}`,
          metrics: outputs.metrics,
          ...(outputs.runId ? { runId: outputs.runId } : {}),
          ...(outputs.experimentId ? { experimentId: outputs.experimentId } : {}),
          startedAt: job.startedAt ?? at,
          finishedAt: job.finishedAt ?? at,
        },
        { ...opts, id: deriveId(job.id, "training.succeeded") },
      );
    }
    case "failed":
      return buildEvent(
        "training.failed",
        {
          ...ref,
          spec: job.spec,
          reason: t.reason ?? job.failureReason ?? "Failed",
          message: t.message ?? job.message ?? "",
          ...(job.exitCode !== undefined ? { exitCode: job.exitCode } : {}),
          ...(job.failedRank !== undefined ? { rank: job.failedRank } : {}),
          logTail: update.logTail ?? "",
          finishedAt: job.finishedAt ?? at,
        },
        { ...opts, id: deriveId(job.id, "training.failed") },
      );
    case "cancelled":
      return buildEvent(
        "training.cancelled",
        { ...ref, finishedAt: job.finishedAt ?? at, ...(t.message ? { by: t.message } : {}) },
        { ...opts, id: deriveId(job.id, "training.cancelled") },
      );
  }
}

export interface TrainingEventsOptions {
  readonly bus: EventBus;
  readonly log: Logger;
  readonly source?: string;
}

/**
 * The listener a backend gets: emits each transition's event. A failed emit throws, so a persisting backend keeps
 * the transition for re-delivery after a restart (the event id is the same, so the broker sees a duplicate at most).
 */
export function trainingEventsFromBackend(opts: TrainingEventsOptions): JobListener {
  return async (update) => {
    let event: AnyCloudEvent | undefined;
    try {
      event = trainingEventFor(update, opts.source);
    } catch (e) {
      // A record that cannot make a valid event (should not happen) is logged, not retried forever.
      opts.log.error("training event could not be built", { jobId: update.job.id, state: update.transition.state, ...errorFields(e) });
      return;
    }
    if (!event) return;
    await opts.bus.emit(event);
    opts.log.info("training status", { jobId: update.job.id, state: update.transition.state, reason: update.transition.reason, eventId: event.id });
  };
}

const RunJson = z.object({ run_id: z.string().optional(), experiment_id: z.string().optional() });

/** metrics.json (numbers only) and run.json from a file:// artifact dir; other URIs are read by log-model itself. */
export function readOutputs(artifactUri: JobRecord["artifactUri"]): { metrics: Record<string, number>; runId?: string; experimentId?: string } {
  if (!artifactUri?.startsWith("file:")) return { metrics: {} };
  const dir = fileURLToPath(artifactUri);
  const metrics: Record<string, number> = {};
  const rawMetrics = readJson(path.join(dir, "metrics.json"));
  if (rawMetrics && typeof rawMetrics === "object" && !Array.isArray(rawMetrics)) {
    for (const [k, v] of Object.entries(rawMetrics)) if (typeof v === "number" && Number.isFinite(v)) metrics[k] = v;
  }
  const run = RunJson.safeParse(readJson(path.join(dir, "run.json")));
  return {
    metrics,
    ...(run.success && run.data.run_id ? { runId: run.data.run_id } : {}),
    ...(run.success && run.data.experiment_id ? { experimentId: run.data.experiment_id } : {}),
  };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}
