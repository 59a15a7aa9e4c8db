// Span helpers for the four kinds Flywheel records: SERVER (incoming request), CLIENT (outgoing call),
// PRODUCER (emitting an event) and CONSUMER (handling one). The event's traceparent ties them into one trace per cause.
import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import type { AnyCloudEvent } from "../events/envelope.ts";
import { eventAttributes, SPAN_NAMES, type ClientPeer } from "./semconv.ts";
import { contextFromTraceparent, parseTraceparent, traceparentOf } from "./traceparent.ts";

/** Instrumentation scope name for every Flywheel span. */
export const TRACER_NAME = "flywheel";

/** The tracer to use when none is injected: the global API's, a no-op until an SDK is started (createTelemetry). */
export function defaultTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

async function runIn<T>(span: Span, ctx: Context, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(ctx, span), () => fn(span));
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.name : "error" });
    // Only the name and message: never stack traces with upstream bodies or headers.
    if (e instanceof Error) span.recordException({ name: e.name, message: e.message });
    throw e;
  } finally {
    span.end();
  }
}

export interface ConsumerOptions {
  /** The function handling the event, recorded as `faas.name`/`flywheel.function`. */
  readonly consumer: string;
  /** Broker or channel it came through. */
  readonly destination?: string | undefined;
}

/**
 * CONSUMER span for handling a CloudEvent. Its parent is the event's `traceparent` (the PRODUCER span that emitted it),
 * so the trace crosses functions; a SERVER span active in another trace is kept as a link instead.
 */
export function withConsumerSpan<T>(
  tracer: Tracer,
  ce: AnyCloudEvent,
  opts: ConsumerOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const active = context.active();
  const remote = parseTraceparent(ce.traceparent);
  const activeSc = trace.getSpanContext(active);
  const links: Link[] = [];
  let parent = active;
  const activeValid = activeSc !== undefined && trace.isSpanContextValid(activeSc);
  // A SERVER span already continuing the event's trace stays the parent (nesting); one in another trace is a link.
  if (remote && !(activeValid && activeSc.traceId === remote.traceId)) {
    parent = contextFromTraceparent(ce.traceparent, active);
    if (activeValid) links.push({ context: activeSc });
  }
  const attributes: Attributes = {
    ...eventAttributes(ce, "process", opts.destination),
    "faas.name": opts.consumer,
    "faas.trigger": "pubsub",
    "flywheel.function": opts.consumer,
  };
  const span = tracer.startSpan(SPAN_NAMES.consumer(ce.type), { kind: SpanKind.CONSUMER, attributes, links }, parent);
  return runIn(span, parent, fn);
}

/**
 * PRODUCER span for emitting a CloudEvent: `fn` receives a copy of the event whose `traceparent` names this span.
 * With no active span, the event's own traceparent (carried from its cause by buildEvent) is the parent.
 */
export function withProducerSpan<T>(
  tracer: Tracer,
  ce: AnyCloudEvent,
  destination: string | undefined,
  fn: (traced: AnyCloudEvent, span: Span) => Promise<T>,
): Promise<T> {
  const active = context.active();
  const hasActive = trace.getSpanContext(active) !== undefined;
  const parent = hasActive ? active : contextFromTraceparent(ce.traceparent, active);
  const span = tracer.startSpan(
    SPAN_NAMES.producer(ce.type),
    { kind: SpanKind.PRODUCER, attributes: eventAttributes(ce, "send", destination) },
    parent,
  );
  const tp = traceparentOf(trace.setSpan(parent, span));
  // A non-recording tracer (tracing off) yields no valid context: keep the event's traceparent as it came.
  const traced = tp ? ce.cloneWith({ traceparent: tp }, false) : ce;
  return runIn(span, parent, (s) => fn(traced, s));
}

export interface ServerRequest {
  readonly method: string;
  /** Route template (not the raw path, to keep cardinality low), e.g. "/v2/models/{name}/infer". */
  readonly route: string;
  readonly headers: Record<string, string | undefined>;
  readonly attributes?: Attributes;
}

/** SERVER span for an incoming HTTP request; parent from the `traceparent` header (or `ce-traceparent`). */
export function withServerSpan<T>(tracer: Tracer, req: ServerRequest, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = contextFromTraceparent(req.headers["traceparent"] ?? req.headers["ce-traceparent"], context.active());
  const span = tracer.startSpan(
    SPAN_NAMES.server(req.method, req.route),
    {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": req.method.toUpperCase(), "http.route": req.route, ...req.attributes },
    },
    parent,
  );
  return runIn(span, parent, fn);
}

/** CLIENT span for an outgoing call to Kubernetes, MLflow, a V2 server, the broker, ... */
export function withClientSpan<T>(
  tracer: Tracer,
  peer: ClientPeer,
  operation: string,
  fn: (span: Span) => Promise<T>,
  attributes: Attributes = {},
): Promise<T> {
  const parent = context.active();
  const span = tracer.startSpan(
    SPAN_NAMES.client(peer, operation),
    { kind: SpanKind.CLIENT, attributes: { "peer.service": peer, ...attributes } },
    parent,
  );
  return runIn(span, parent, fn);
}

/** The current traceparent, for outgoing HTTP headers or events built by hand. */
export function currentTraceparent(): string | undefined {
  return traceparentOf(context.active());
}
