// The CLIENT span around one outgoing HTTP exchange, as undici's instrumentation recorded it for fetch (semconv
// http.request.method, url.full, http.response.status_code; ERROR on a transport error or a status >= 400). Shared by
// the node:http transports (post.ts, fetch.ts), which replaced fetch on hot and cold paths.
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span, type Tracer } from "@opentelemetry/api";

/** Runs `exchange` in a span; it gets the span to put its context on the wire (`injectTrace`). */
export function inClientSpan<R extends { readonly status: number }>(tracer: Tracer, method: string, url: string, exchange: (span: Span) => Promise<R>): Promise<R> {
  const span = tracer.startSpan(method, { kind: SpanKind.CLIENT, attributes: { "http.request.method": method, "url.full": url } });
  return exchange(span).then(
    (r) => {
      span.setAttribute("http.response.status_code", r.status);
      if (r.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      return r;
    },
    (e: unknown) => {
      span.recordException(e instanceof Error ? e : String(e));
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      span.end();
      throw e;
    },
  );
}

/** The span's context as W3C headers (traceparent, tracestate) added to `headers`. */
export function injectTrace(span: Span, headers: Record<string, string>): void {
  propagation.inject(trace.setSpan(context.active(), span), headers);
}
