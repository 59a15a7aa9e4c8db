// FUNCTION_TARGET=eventLog: the subscriber of a Trigger with no filter; records every event for the activity page.
import { parseConfig } from "../config/index.ts";
import { ConfigError } from "../errors.ts";
import { registerCloudEvent } from "../fn/framework.ts";
import type { BaseDeps, CloudEventHandler } from "../fn/types.ts";
import { createLogger } from "../log.ts";
import type { EventBus } from "../ports.ts";
import { openPostgresState } from "../state/index.ts";
import { StateEventLog } from "./event-log.ts";

export const FUNCTION_TARGET = "eventLog";

export interface EventLogDeps extends BaseDeps {
  readonly history: StateEventLog;
}

/** Idempotent: an event is recorded once per (source, id), so a redelivery is a no-op. Never emits. */
export const eventLogSink: CloudEventHandler<EventLogDeps> = async (event, deps) => {
  const created = await deps.history.record(event, deps.now());
  return { status: created ? "done" : "duplicate", detail: `${event.type} ${event.id}` };
};

const NO_BUS: EventBus = {
  emit: async () => {
    throw new TypeError("the event-log sink never emits");
  },
};

export async function eventLogDepsFromEnv(env: Record<string, string | undefined> = process.env): Promise<EventLogDeps> {
  const config = parseConfig(env);
  if (!config.state.databaseUrl) throw new ConfigError(["FLYWHEEL_DATABASE_URL: required, the event history is kept in the shared state store"]);
  return {
    bus: NO_BUS,
    log: createLogger(config.logLevel, { function: "event-log" }),
    now: Date.now,
    history: new StateEventLog(await openPostgresState(config.state.databaseUrl)),
  };
}

registerCloudEvent(FUNCTION_TARGET, eventLogSink, () => eventLogDepsFromEnv());
