// The `deadLetter` function (FUNCTION_TARGET deadLetter): the deadLetterSink that stores what delivery gave up on.
import { Counter, type Registry } from "prom-client";
import type { AnyCloudEvent } from "../events/envelope.ts";
import { errorFields } from "../log.ts";
import type { EventBus } from "../ports.ts";
import type { BaseDeps, CloudEventHandler } from "../fn/types.ts";
import { KNATIVE_ERROR_CODE, KNATIVE_ERROR_DEST } from "./delivery.ts";
import { originalEvent, type DeadLetter } from "./dead-letters.ts";

/** The embedded broker's SQLite DeadLetterStore (synchronous) or StateDeadLetters (Knative: PostgreSQL). */
export interface DeadLetterRecords {
  record(input: { event: AnyCloudEvent; at: number }): { deadLetter: DeadLetter; created: boolean } | Promise<{ deadLetter: DeadLetter; created: boolean }>;
  get(id: string): DeadLetter | Promise<DeadLetter>;
  markReplayed(id: string, at: number): boolean | Promise<boolean>;
}

export interface DeadLetterDeps extends BaseDeps {
  readonly store: DeadLetterRecords;
  /** Counts each new dead letter (FlywheelDeadLettersGrowing). */
  readonly deadLetters?: Counter<"type"> | undefined;
}

export const DEAD_LETTERS_METRIC = "flywheel_dead_letters_total";

/** The one dead-letter counter, whoever stores them (the embedded broker, or the deadLetter function in Knative). */
export function deadLetterCounter(registry: Registry): Counter<"type"> {
  const m = registry.getSingleMetric(DEAD_LETTERS_METRIC);
  if (m instanceof Counter) return m;
  return new Counter({ name: DEAD_LETTERS_METRIC, help: "Events delivery gave up on, stored as dead letters, by event type (each counted once).", labelNames: ["type"], registers: [registry] });
}

/** Store the dead-lettered event with its knativeerror* extensions. Idempotent on (source, id, knativeerrordest). */
export const deadLetter: CloudEventHandler<DeadLetterDeps> = async (event, deps) => {
  const { deadLetter: dl, created } = await deps.store.record({ event, at: deps.now() });
  if (created) {
    deps.deadLetters?.inc({ type: event.type });
    // knativeerrordata carries the subscriber's response body: logged decoded and capped (its error message when
    // it sent one), never the raw bytes.
    deps.log.warn("event dead-lettered", {
      deadLetterId: dl.id,
      eventId: event.id,
      type: event.type,
      [KNATIVE_ERROR_DEST]: dl.errorDest,
      [KNATIVE_ERROR_CODE]: dl.errorCode,
      reason: dl.reason,
    });
  }
  return { status: created ? "done" : "duplicate", detail: dl.id };
};

/**
 * Replay through a broker ingress (Knative mode: the Broker re-runs every trigger on it). The embedded broker has
 * its own EmbeddedBroker.replayDeadLetter, which redelivers to the failed trigger only: its ingress dedupes on
 * (source, id), so re-posting there would be a no-op.
 */
export async function replayDeadLetter(
  store: DeadLetterRecords,
  id: string,
  deps: { readonly bus: EventBus; readonly now: () => number; readonly log: BaseDeps["log"] },
): Promise<DeadLetter> {
  const dl = await store.get(id);
  if (dl.state !== "dead") return dl;
  try {
    await deps.bus.emit(originalEvent(dl));
  } catch (e) {
    deps.log.warn("dead letter replay failed", { deadLetterId: id, ...errorFields(e) });
    throw e;
  }
  await store.markReplayed(id, deps.now());
  return store.get(id);
}
