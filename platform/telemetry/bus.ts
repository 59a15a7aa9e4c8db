// tracedBus: wraps any EventBus so every emit is a PRODUCER span and the event carries that span's traceparent.
import type { Tracer } from "@opentelemetry/api";
import type { AnyCloudEvent } from "../events/envelope.ts";
import type { EventBus } from "../ports.ts";
import { defaultTracer, withProducerSpan } from "./spans.ts";

/** Marks a bus that records its own PRODUCER spans (HttpEventBus), so tracedBus does not wrap it twice. */
export const SELF_TRACED: unique symbol = Symbol.for("flywheel.telemetry.selfTraced");

export interface TracedBusOptions {
  readonly tracer?: Tracer;
  /** Broker name recorded as `messaging.destination.name` (default "default"). */
  readonly destination?: string;
}

export function tracedBus(bus: EventBus, opts: TracedBusOptions = {}): EventBus {
  if (SELF_TRACED in bus) return bus;
  const tracer = opts.tracer ?? defaultTracer();
  const destination = opts.destination ?? "default";
  return {
    emit: (event: AnyCloudEvent) =>
      withProducerSpan(tracer, event, destination, async (traced, span) => {
        await bus.emit(traced);
        span.setAttribute("messaging.message.body.size", Buffer.byteLength(JSON.stringify(traced.data ?? "")));
      }),
  };
}
