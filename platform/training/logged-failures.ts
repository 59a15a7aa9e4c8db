// Knative mode: a training with no object (refused at launch, or its object since deleted) is known by its
// training.failed event, which the event-log function keeps in the shared StateStore; the jobs API answers from it.
import { deriveId, fromStructured, parseEventAs } from "../events/envelope.ts";
import type { JobRecord } from "../ports.ts";
import type { StateStore } from "../state/index.ts";
import { TRAINING_EVENT_SOURCE } from "./events.ts";

/**
 * The failed job as its training.failed event tells it, or undefined when none was logged. The event's id derives
 * from the job id (events.ts), so this is one primary-key read, not a scan.
 */
export async function loggedFailedJob(state: StateStore, jobId: string): Promise<JobRecord | undefined> {
  const row = await state.db
    .selectFrom("event_log")
    .select("event")
    .where("id", "=", deriveId(jobId, "training.failed"))
    .where("source", "=", TRAINING_EVENT_SOURCE)
    .executeTakeFirst();
  if (!row) return undefined;
  const raw: unknown = JSON.parse(row.event);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const { data } = parseEventAs("training.failed", fromStructured(Object.fromEntries(Object.entries(raw))));
  if (data.jobId !== jobId) return undefined;
  return {
    id: data.jobId,
    model: data.model,
    kind: data.kind,
    backend: data.backend,
    state: "failed",
    spec: data.spec,
    trigger: data.trigger,
    // It never started: created and finished at the refusal, as far as anything shared knows.
    createdAt: data.finishedAt,
    finishedAt: data.finishedAt,
    ...(data.exitCode !== undefined ? { exitCode: data.exitCode } : {}),
    ...(data.rank !== undefined ? { failedRank: data.rank } : {}),
    failureReason: data.reason,
    message: data.message,
    ranks: 0,
    ...(data.object ? { object: data.object } : {}),
    history: [{ state: "failed", at: data.finishedAt, reason: data.reason, message: data.message }],
  };
}
