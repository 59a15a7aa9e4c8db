// createTelemetry: starts the OpenTelemetry NodeSDK (OTLP/HTTP, or a given exporter for tests). No module state.
import { trace, type Tracer } from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Config } from "../config/index.ts";
import { TRACER_NAME } from "./spans.ts";
import { trimTrailingSlashes } from "../slashes.ts";

export interface TelemetryOptions {
  /** Function name: the service.name fallback when K_SERVICE/OTEL_SERVICE_NAME are unset. */
  readonly functionName: string;
  /** K_SERVICE (or OTEL_SERVICE_NAME). */
  readonly serviceName?: string | undefined;
  readonly revision?: string | undefined;
  /** OTLP/HTTP base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); traces go to `<endpoint>/v1/traces`. */
  readonly otlpEndpoint?: string | undefined;
  /** Export to this instead (tests: InMemorySpanExporter). Spans are exported synchronously on end. */
  readonly exporter?: SpanExporter | undefined;
  /** Record CLIENT spans for every fetch() through undici's diagnostics channel (works in bundles). Default true. */
  readonly instrumentFetch?: boolean;
}

export interface Telemetry {
  /** false when neither an endpoint nor an exporter was given: the tracer is then a no-op. */
  readonly enabled: boolean;
  readonly serviceName: string;
  readonly tracer: Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Options from the typed config: service.name = K_SERVICE (or OTEL_SERVICE_NAME), else the function name. */
export function telemetryOptions(config: Config, functionName: string): TelemetryOptions {
  return {
    functionName,
    serviceName: config.telemetry.serviceName ?? config.knative.service,
    revision: config.knative.revision,
    otlpEndpoint: config.telemetry.otlpEndpoint,
  };
}

export function tracesUrl(endpoint: string): string {
  return `${trimTrailingSlashes(endpoint)}/v1/traces`;
}

/**
 * Heavy OTel modules are imported lazily, so a function with tracing off never loads them (a bundle split point).
 * The NodeSDK registers the global tracer provider, W3C propagator and AsyncLocalStorage context manager.
 */
export async function createTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const serviceName = opts.serviceName ?? opts.functionName;
  if (!opts.otlpEndpoint && !opts.exporter) {
    return {
      enabled: false,
      serviceName,
      tracer: trace.getTracer(TRACER_NAME),
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
  }
  const { startSdk } = await import("./otel-sdk.ts");
  const attributes: Record<string, string> = { "service.name": serviceName, "faas.name": opts.functionName };
  if (opts.revision) attributes["faas.version"] = opts.revision;
  const sdk = startSdk({
    attributes,
    exporter: opts.exporter,
    tracesUrl: opts.otlpEndpoint ? tracesUrl(opts.otlpEndpoint) : undefined,
    instrumentFetch: opts.instrumentFetch !== false,
  });
  return {
    enabled: true,
    serviceName,
    tracer: trace.getTracer(TRACER_NAME),
    forceFlush: () => sdk.forceFlush(),
    shutdown: () => sdk.shutdown(),
  };
}
