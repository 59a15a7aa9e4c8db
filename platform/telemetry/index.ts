// Public surface of Flywheel's telemetry: tracing factory, span helpers, traced bus/fetch, function metrics.
export { createTelemetry, telemetryOptions, tracesUrl, type Telemetry, type TelemetryOptions } from "./sdk.ts";
export {
  currentTraceparent,
  defaultTracer,
  TRACER_NAME,
  withClientSpan,
  withConsumerSpan,
  withProducerSpan,
  withServerSpan,
  type ConsumerOptions,
  type ServerRequest,
} from "./spans.ts";
export { SELF_TRACED, tracedBus, type TracedBusOptions } from "./bus.ts";
export { serverSpans, templatePath, tracedFetch, type TracedFetchOptions } from "./http.ts";
export { CLIENT_PEERS, eventAttributes, MESSAGING_SYSTEM, SPAN_NAMES, type ClientPeer } from "./semconv.ts";
export { contextFromTraceparent, formatTraceparent, parseTraceparent, traceparentOf } from "./traceparent.ts";
export {
  createFunctionMetrics,
  INVOCATION_OUTCOMES,
  outcomeOf,
  type FunctionMetrics,
  type InvocationOutcome,
} from "./metrics.ts";
