// HTTP edges: a hono middleware recording SERVER spans, and a fetch wrapper recording CLIENT spans with traceparent.
import { SpanStatusCode, type Tracer } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { ClientPeer } from "./semconv.ts";
import { currentTraceparent, defaultTracer, withClientSpan, withServerSpan } from "./spans.ts";

/** SERVER span per request. The span is named after the matched route template once routing is done. */
export function serverSpans(tracer: Tracer = defaultTracer()): MiddlewareHandler {
  return async (c, next) => {
    const headers = { traceparent: c.req.header("traceparent"), "ce-traceparent": c.req.header("ce-traceparent") };
    await withServerSpan(tracer, { method: c.req.method, route: c.req.path, headers }, async (span) => {
      await next();
      const route = routePath(c, -1) || c.req.path;
      span.updateName(`${c.req.method} ${route}`);
      span.setAttribute("http.route", route);
      span.setAttribute("http.response.status_code", c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    });
  };
}

export interface TracedFetchOptions {
  readonly peer: ClientPeer;
  readonly tracer?: Tracer;
  readonly fetch?: typeof fetch;
  /** Low-cardinality operation name from the request (default: METHOD + path with ids replaced by {id}). */
  readonly operation?: (url: URL, method: string) => string;
}

/** Numbers, UUIDs and long hex runs in a path become {id} so span names stay low-cardinality. */
export function templatePath(pathname: string): string {
  return pathname
    .split("/")
    .map((seg) => (/^(\d+|[0-9a-f]{16,}|[0-9a-f]{8}-[0-9a-f-]{27,})$/i.test(seg) ? "{id}" : seg))
    .join("/");
}

/** A fetch that records a CLIENT span per call and sends the W3C traceparent header. Signature of global fetch. */
export function tracedFetch(opts: TracedFetchOptions): typeof fetch {
  const tracer = opts.tracer ?? defaultTracer();
  const base = opts.fetch ?? fetch;
  const traced = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const operation = opts.operation ? opts.operation(url, method) : `${method} ${templatePath(url.pathname)}`;
    return withClientSpan(
      tracer,
      opts.peer,
      operation,
      async (span) => {
        const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
        const tp = currentTraceparent();
        if (tp) headers.set("traceparent", tp);
        const res = await base(input, { ...init, headers });
        span.setAttribute("http.response.status_code", res.status);
        if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        return res;
      },
      { "http.request.method": method, "server.address": url.hostname, "url.full": `${url.origin}${url.pathname}` },
    );
  };
  return traced;
}
