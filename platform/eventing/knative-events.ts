// Knative mode's events and dead letters for the UI and /api/v1: the StateStore, with replay posting to the Broker.
import type { EventQuery, EventsAboutQuery, StoredEvent } from "../local/broker/types.ts";
import type { Logger } from "../log.ts";
import type { EventBus } from "../ports.ts";
import type { StateStore } from "../state/index.ts";
import { replayDeadLetter } from "./dead-letter.ts";
import type { DeadLetter, DeadLetterQuery } from "./dead-letters.ts";
import { StateDeadLetters } from "./dead-letter-state.ts";
import { StateEventLog } from "./event-log.ts";

export interface KnativeEvents {
  recentEvents(q: EventQuery): Promise<StoredEvent[]>;
  eventsAbout(q: EventsAboutQuery): Promise<StoredEvent[]>;
  deadLetters(q: DeadLetterQuery): Promise<DeadLetter[]>;
  /** Re-posts the original event to the Broker ingress: every trigger on it sees it again (as Knative does). */
  replayDeadLetter(id: string): Promise<void>;
  discardDeadLetter(id: string): Promise<void>;
}

export function knativeEvents(state: StateStore, deps: { readonly bus: EventBus; readonly log: Logger; readonly now: () => number }): KnativeEvents {
  const history = new StateEventLog(state);
  const deadLetters = new StateDeadLetters(state);
  return {
    recentEvents: async (q) =>
      // The Knative Broker does not report per-trigger deliveries: the log has the events only.
      (await history.recent(q)).map((e, i) => ({ ...e, seq: i, event: { ...e.event }, deliveries: [] })),
    eventsAbout: async (q) => (await history.about(q)).map((e, i) => ({ ...e, seq: i, event: { ...e.event }, deliveries: [] })),
    deadLetters: (q) => deadLetters.list(q),
    replayDeadLetter: async (id) => {
      await replayDeadLetter(deadLetters, id, deps);
    },
    discardDeadLetter: async (id) => {
      await deadLetters.discard(id, deps.now());
    },
  };
}
