// /api/v1/events and /api/v1/dead-letters: the broker's event log and dead-letter queue, for the CLI and the UI.
import { Hono } from "hono";
import { ValidationError } from "../errors.ts";
import { isDeadLetterState } from "../eventing/dead-letters.ts";
import type { EventQuery, StoredEvent } from "../local/broker/index.ts";
import type { DeadLetter, DeadLetterQuery } from "../local/broker/index.ts";

/** What the API needs of the broker (embedded, synchronous) or of the StateStore (Knative, asynchronous). */
export interface EventLog {
  recentEvents(q: EventQuery): StoredEvent[] | Promise<StoredEvent[]>;
  deadLetters(q: DeadLetterQuery): DeadLetter[] | Promise<DeadLetter[]>;
  replayDeadLetter(id: string): Promise<unknown>;
  discardDeadLetter(id: string): unknown;
}

function intParam(raw: string | undefined, field: string, dflt: number, max: number): number {
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new ValidationError([{ field, message: `must be an integer between 0 and ${max}` }]);
  return n;
}

/** A stored event as the API shows it: CloudEvent attributes, data, and how its deliveries went. */
export function eventView(e: StoredEvent): Record<string, unknown> {
  const { data, data_base64: _b64, ...attributes } = e.event;
  return {
    id: e.id,
    type: e.type,
    source: e.source,
    subject: e.subject,
    time: typeof attributes.time === "string" ? attributes.time : new Date(e.receivedAt).toISOString(),
    receivedAt: e.receivedAt,
    traceparent: typeof attributes.traceparent === "string" ? attributes.traceparent : undefined,
    attributes,
    data,
    deliveries: e.deliveries,
  };
}

/** Routes mounted at /api/v1. Reads need `viewer`; replay and discard are guarded by the caller (mlops-engineer). */
export function eventsApi(log: EventLog): Hono {
  const app = new Hono();
  app.get("/events", async (c) => {
    const q: EventQuery = {
      limit: intParam(c.req.query("limit"), "limit", 50, 1000),
      offset: intParam(c.req.query("offset"), "offset", 0, 10_000_000),
      type: c.req.query("type") || undefined,
    };
    return c.json({ events: (await log.recentEvents(q)).map(eventView) });
  });
  app.get("/dead-letters", async (c) => {
    const state = c.req.query("state");
    if (state !== undefined && !isDeadLetterState(state)) {
      throw new ValidationError([{ field: "state", message: "must be dead, replayed or discarded" }]);
    }
    const q: DeadLetterQuery = {
      limit: intParam(c.req.query("limit"), "limit", 50, 1000),
      offset: intParam(c.req.query("offset"), "offset", 0, 10_000_000),
      state,
    };
    return c.json({ deadLetters: await log.deadLetters(q) });
  });
  app.post("/dead-letters/:id/replay", async (c) => {
    const id = c.req.param("id");
    await log.replayDeadLetter(id); // NotFoundError -> 404 at the app's error boundary
    return c.json({ id, state: "replayed" });
  });
  app.post("/dead-letters/:id/discard", async (c) => {
    const id = c.req.param("id");
    await log.discardDeadLetter(id);
    return c.json({ id, state: "discarded" });
  });
  return app;
}
