// Knative glue: registers a pure handler with functions-framework's cloudEvent(), selected by FUNCTION_TARGET.
import * as ff from "@google-cloud/functions-framework";
import { CloudEvent, type CloudEventV1 } from "cloudevents";
import { isKnownError, UpstreamError } from "../errors.ts";
import type { AnyCloudEvent } from "../events/envelope.ts";
import { errorFields } from "../log.ts";
import type { BaseDeps, CloudEventHandler } from "./types.ts";
import type { Tracer } from "@opentelemetry/api";
import { defaultTracer, withConsumerSpan } from "../telemetry/spans.ts";

/**
 * functions-framework answers 500 whenever a cloudEvent handler throws, and Knative retries 5xx. So a bad event
 * (validation, not found) is logged and acknowledged here instead of thrown: it would fail the same way forever.
 * Only retryable failures propagate.
 */
export function registerCloudEvent<D extends BaseDeps>(
  target: string,
  handler: CloudEventHandler<D>,
  deps: () => Promise<D> | D,
  telemetry: { readonly tracer?: Tracer; readonly destination?: string } = {},
): void {
  let cached: Promise<D> | undefined;
  ff.cloudEvent<unknown>(target, async (raw: CloudEventV1<unknown>) => {
    // A failed start (database not reachable yet) is retried on the next event instead of being cached forever.
    cached ??= Promise.resolve()
      .then(deps)
      .catch((e: unknown) => {
        cached = undefined;
        throw e;
      });
    const d = await cached;
    // functions-framework hands over its own CloudEvent instance; rebuild ours so the SDK version never matters.
    const ce: AnyCloudEvent = new CloudEvent<unknown>({ ...raw }, false);
    try {
      // The tracer is resolved per call: platform/knative/main.ts starts the SDK after function modules register.
      const tracer = telemetry.tracer ?? defaultTracer();
      await withConsumerSpan(tracer, ce, { consumer: target, destination: telemetry.destination }, async (span) => {
        const out = await handler(ce, d);
        span.setAttribute("flywheel.outcome", out.status);
      });
    } catch (e) {
      if (e instanceof UpstreamError && e.retryable) throw e;
      if (isKnownError(e)) {
        d.log.warn(`${target}: event rejected, not retried`, { id: ce.id, type: ce.type, ...errorFields(e) });
        return;
      }
      throw e;
    }
  });
}
