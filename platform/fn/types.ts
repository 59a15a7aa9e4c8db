// The shape every function handler has: a pure (event, deps) -> outcome, with the platform injected (style.md §1).
import type { AnyCloudEvent } from "../events/envelope.ts";
import type { Logger } from "../log.ts";
import type { EventBus } from "../ports.ts";

/** What every handler's deps include. Each function adds its own ports. */
export interface BaseDeps {
  readonly bus: EventBus;
  readonly log: Logger;
  /** Injected clock (epoch ms), so tests control time. */
  readonly now: () => number;
}

export interface HandlerOutcome {
  /** "done": work started or finished; "duplicate": already handled (idempotent replay); "ignored": not for us. */
  readonly status: "done" | "duplicate" | "ignored";
  readonly detail?: string | undefined;
  /** Ids of events emitted, for tests and logs. */
  readonly emitted?: readonly string[] | undefined;
}

export type CloudEventHandler<D extends BaseDeps> = (event: AnyCloudEvent, deps: D) => Promise<HandlerOutcome>;
