// The status callback both training backends report through, and the job id rule shared by function and API.
import { shortHash } from "../events/envelope.ts";
import type { JobRecord, JobTransition } from "../ports.ts";

/** One state change of a job, as a backend reports it. */
export interface JobUpdate {
  /** The job after the change (its history ends with `transition`). */
  readonly job: JobRecord;
  readonly transition: JobTransition;
  /** Failing rank's (or pod's) last log lines, on failure. */
  readonly logTail?: string | undefined;
  /** traceparent of the request that launched the job, so status events continue its trace. */
  readonly traceparent?: string | undefined;
}

/**
 * Called for every transition after it is stored. A backend that persists jobs calls it again after a restart for
 * transitions whose listener call had not finished, so listeners must be idempotent (event ids derive from the job id).
 */
export type JobListener = (update: JobUpdate) => Promise<void> | void;

/** `${model}-${shortHash(eventId)}`: the same request event always names the same job (and Kubernetes object). */
export function jobIdFor(model: string, causeEventId: string): string {
  return `${model.slice(0, 63 - 9)}-${shortHash(causeEventId)}`;
}
