// Phase marks of one event through the broker, on a diagnostics_channel: free unless something subscribes (bench/broker).
import diagnostics_channel from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";

export const PHASE_CHANNEL = "flywheel:broker:phase";

/**
 * received: the ingress handler runs; parsed: the CloudEvent is read and validated; enqueued: it waits for its group
 * commit; committed: its rows are written (the WAL frames, before the fsync); durable: the fsync covering it returned;
 * answered: the 202 is handed to the HTTP server; sending / sent: a delivery attempt starts / has its response;
 * recorded: the attempt's outcome is committed.
 */
export type Phase = "received" | "parsed" | "enqueued" | "committed" | "durable" | "answered" | "sending" | "sent" | "recorded";

export interface PhaseMark {
  readonly phase: Phase;
  /** The CloudEvent id (the bench's ids are unique). */
  readonly id: string;
  /** performance.now() */
  readonly t: number;
  /** Events in the group commit (committed, durable). */
  readonly batch?: number | undefined;
}

const channel = diagnostics_channel.channel(PHASE_CHANNEL);

/** `at`: a performance.now() taken earlier (the id is only known once the event is parsed). */
export function mark(phase: Phase, id: string, batch?: number, at?: number): void {
  if (channel.hasSubscribers) channel.publish({ phase, id, t: at ?? performance.now(), batch } satisfies PhaseMark);
}

/** Marks for many events at once (a group commit), with one timestamp. */
export function markAll(phase: Phase, ids: readonly string[]): void {
  if (!channel.hasSubscribers) return;
  const t = performance.now();
  for (const id of ids) channel.publish({ phase, id, t, batch: ids.length } satisfies PhaseMark);
}
