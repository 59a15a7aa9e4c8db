// Embedded glue: mounts a pure CloudEvent handler as a hono route with Knative's status-code semantics.
import { Hono, type Context } from "hono";
import { fromHttp } from "../events/envelope.ts";
import { PayloadTooLargeError, toHttpError, UpstreamError } from "../errors.ts";
import { errorFields } from "../log.ts";
import type { BaseDeps, CloudEventHandler } from "./types.ts";
import type { Tracer } from "@opentelemetry/api";
import { defaultTracer, withConsumerSpan } from "../telemetry/spans.ts";
import { outcomeOf, type FunctionMetrics } from "../telemetry/metrics.ts";

/** Optional observability for a route: CONSUMER spans (global tracer by default) and function metrics. */
export interface RouteTelemetry {
  readonly tracer?: Tracer;
  readonly metrics?: FunctionMetrics;
  /** Broker the events come through, recorded as messaging.destination.name. */
  readonly destination?: string;
}

export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * POST / accepts a CloudEvent (binary or structured) and runs the handler.
 * 200 on success; 400 for bad events (the broker will not retry); 503 for retryable upstream failures; 500 otherwise.
 */
export function cloudEventRoute<D extends BaseDeps>(
  name: string,
  handler: CloudEventHandler<D>,
  deps: D,
  telemetry: RouteTelemetry = {},
): Hono {
  const app = new Hono();
  const tracer = telemetry.tracer ?? defaultTracer();
  const handle = async (c: Context): Promise<Response> => {
    try {
      const len = Number(c.req.header("content-length") ?? "0");
      if (len > MAX_EVENT_BYTES) throw new PayloadTooLargeError(`event larger than ${MAX_EVENT_BYTES} bytes`);
      const body = Buffer.from(await c.req.arrayBuffer());
      if (body.length > MAX_EVENT_BYTES) throw new PayloadTooLargeError(`event larger than ${MAX_EVENT_BYTES} bytes`);
      const event = fromHttp(Object.fromEntries(c.req.raw.headers), body);
      const outcome = await withConsumerSpan(
        tracer,
        event,
        { consumer: name, destination: telemetry.destination },
        async (span) => {
          const out = await handler(event, deps);
          span.setAttribute("flywheel.outcome", out.status);
          return out;
        },
      );
      return c.json(outcome, 200);
    } catch (e) {
      const { status, body } = toHttpError(e);
      if (status >= 500 || e instanceof UpstreamError) deps.log.warn(`${name} failed`, errorFields(e));
      return c.json(body, status as 400);
    }
  };
  app.post("/", async (c) => {
    const started = performance.now();
    const res = await handle(c);
    telemetry.metrics?.observe(name, outcomeOf(res.status), (performance.now() - started) / 1000);
    return res;
  });
  return app;
}
