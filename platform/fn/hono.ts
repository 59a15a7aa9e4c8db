// Embedded glue: mounts a pure CloudEvent handler as a hono route with Knative's status-code semantics.
import { Hono } from "hono";
import { fromHttp } from "../events/envelope.ts";
import { PayloadTooLargeError, toHttpError, UpstreamError } from "../errors.ts";
import { errorFields } from "../log.ts";
import type { BaseDeps, CloudEventHandler } from "./types.ts";

export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * POST / accepts a CloudEvent (binary or structured) and runs the handler.
 * 200 on success; 400 for bad events (the broker will not retry); 503 for retryable upstream failures; 500 otherwise.
 */
export function cloudEventRoute<D extends BaseDeps>(name: string, handler: CloudEventHandler<D>, deps: D): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    try {
      const len = Number(c.req.header("content-length") ?? "0");
      if (len > MAX_EVENT_BYTES) throw new PayloadTooLargeError(`event larger than ${MAX_EVENT_BYTES} bytes`);
      const body = Buffer.from(await c.req.arrayBuffer());
      if (body.length > MAX_EVENT_BYTES) throw new PayloadTooLargeError(`event larger than ${MAX_EVENT_BYTES} bytes`);
      const event = fromHttp(Object.fromEntries(c.req.raw.headers), body);
      const outcome = await handler(event, deps);
      return c.json(outcome, 200);
    } catch (e) {
      const { status, body } = toHttpError(e);
      if (status >= 500 || e instanceof UpstreamError) deps.log.warn(`${name} failed`, errorFields(e));
      return c.json(body, status as 400);
    }
  });
  return app;
}
