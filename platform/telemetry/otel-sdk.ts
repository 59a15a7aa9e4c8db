// The heavy half of telemetry: NodeSDK, span processors, the OTLP/HTTP exporter and fetch instrumentation.
// Only sdk.ts imports this, dynamically, so a function with tracing off never loads it (own bundle chunk). Importing
// it through our own ESM module also keeps esbuild's CJS interop right for the named exports.
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { NodeSDK, resources } from "@opentelemetry/sdk-node";
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";

export interface SdkStartOptions {
  readonly attributes: Record<string, string>;
  /** Export here synchronously on span end (tests), else batch to `tracesUrl`. */
  readonly exporter?: SpanExporter | undefined;
  readonly tracesUrl?: string | undefined;
  readonly instrumentFetch: boolean;
}

export interface StartedSdk {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Registers the global tracer provider, W3C propagator and AsyncLocalStorage context manager. */
export function startSdk(opts: SdkStartOptions): StartedSdk {
  const processor = opts.exporter
    ? new SimpleSpanProcessor(opts.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.tracesUrl }));
  const sdk = new NodeSDK({
    resource: resources.resourceFromAttributes(opts.attributes),
    // Detectors read the host and process at start-up: cold-start time for attributes Knative already gives us.
    resourceDetectors: [],
    spanProcessors: [processor],
    instrumentations: opts.instrumentFetch ? [new UndiciInstrumentation()] : [],
  });
  sdk.start();
  return { forceFlush: () => processor.forceFlush(), shutdown: () => sdk.shutdown() };
}
