// Knative glue: registers a pure handler with functions-framework's cloudEvent(), selected by FUNCTION_TARGET.
import * as ff from "@google-cloud/functions-framework";
import { CloudEvent, type CloudEventV1 } from "cloudevents";
import { isKnownError, UpstreamError } from "../errors.ts";
import type { AnyCloudEvent } from "../events/envelope.ts";
import { errorFields, logLine } from "../log.ts";
import type { BaseDeps, CloudEventHandler } from "./types.ts";
import type { Tracer } from "@opentelemetry/api";
import { defaultTracer, withConsumerSpan } from "../telemetry/spans.ts";
import { registerStarter } from "./starters.ts";

/**
 * What a handler throws for functions-framework to answer 500. It prints a thrown error's `stack` raw to stderr
 * (logger.js sendCrashResponse, no way to turn that off), so this one's stack is a JSON line too, without detail:
 * the error itself was logged just before, through the function's logger.
 */
export class RetryRequested extends Error {
  override readonly name = "RetryRequested";
  constructor(target: string, eventId: string, cause: unknown) {
    super(`${target}: event ${eventId} failed, answered 500 for a retry`, { cause });
    this.stack = logLine("error", this.message, { target, id: eventId, error: this.name });
  }
}

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
  // A failed start (database not reachable yet) is retried on the next event instead of being cached forever.
  const built = (): Promise<D> =>
    (cached ??= Promise.resolve()
      .then(deps)
      .catch((e: unknown) => {
        cached = undefined;
        throw e;
      }));
  // The Knative entry starts building them before the first event (starters.ts); embedded mode on the first event.
  registerStarter(target, built);
  ff.cloudEvent<unknown>(target, async (raw: CloudEventV1<unknown>) => {
    const d = await built();
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
      if (isKnownError(e) && !(e instanceof UpstreamError && e.retryable)) {
        d.log.warn(`${target}: event rejected, not retried`, { id: ce.id, type: ce.type, ...errorFields(e) });
        return;
      }
      // Retryable (or unexpected): a 500, so the broker redelivers. Logged here as a JSON line with its stack.
      d.log.error(`${target}: event failed, the broker retries it`, { id: ce.id, type: ce.type, ...errorFields(e), stack: e instanceof Error ? e.stack : undefined });
      throw new RetryRequested(target, ce.id, e);
    }
  });
}
