// fetch() over node:http(s) with keep-alive agents, for clients on a cold function's first request (infer's V2 calls,
// MLflow): Node 20's first global fetch() loads undici's dispatcher and compiles its llhttp WASM, about 25 ms more CPU
// than a first node:http request (the Request/Response classes are loaded anyway, by the hono glue). The answer is a
// standard Response, so callers read it as they read fetch's; what it does not do, it refuses rather than ignores. Each
// request records the CLIENT span and sends the traceparent undici's instrumentation gave fetch (as http/post.ts does).
import http from "node:http";
import https from "node:https";
import type { Tracer } from "@opentelemetry/api";
import { defaultTracer } from "../telemetry/spans.ts";
import { inClientSpan, injectTrace } from "./client-span.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface NodeFetchOptions {
  /** CA certificates (PEM) https trusts instead of Node's bundled ones. */
  readonly ca?: Buffer | undefined;
  /** How long an idle kept-alive socket stays open. Default 4 s, undici's default (below most servers' 5 s). */
  readonly idleSocketMs?: number | undefined;
  /** CLIENT spans for each request (default: the global tracer, a no-op until the OTel SDK is started). */
  readonly tracer?: Tracer | undefined;
}

/** fetch's limit on redirects followed. */
const MAX_REDIRECTS = 20;

/** The body of a RequestInit this transport sends: what its callers pass (no streams, forms or blobs). */
function bodyOf(body: RequestInit["body"]): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("nodeFetch: only string, Uint8Array and ArrayBuffer bodies are supported");
}

/**
 * A fetch for JSON APIs: method, headers, a string or byte body, `signal` (rejects with its reason, as fetch does),
 * `redirect` (follow, as fetch: 303, and 301/302 after a POST, turn into a body-less GET; authorization is dropped
 * when the origin changes; manual; error). A transport error rejects with TypeError("fetch failed", { cause }), as
 * fetch does. The body is read whole before the Response resolves; no content coding is asked for (none to undo).
 */
export function createNodeFetch(opts: NodeFetchOptions = {}): FetchLike & { close(): void } {
  const agentOpts: https.AgentOptions = { keepAlive: true, timeout: opts.idleSocketMs ?? 4_000, scheduling: "lifo", ...(opts.ca ? { ca: opts.ca } : {}) };
  const agents = { http: new http.Agent(agentOpts), https: new https.Agent(agentOpts) };

  const tracer = opts.tracer ?? defaultTracer();

  type Answer = { status: number; statusText: string; headers: Headers; body: Buffer<ArrayBuffer> };
  /** One request, in its CLIENT span (client-span.ts). */
  const once = (url: URL, method: string, headers: Record<string, string>, body: string | Uint8Array | undefined, signal: AbortSignal | undefined): Promise<Answer> =>
    inClientSpan(tracer, method, url.href, (span) => {
      const out: Record<string, string> = body === undefined ? { ...headers } : { ...headers, "content-length": String(Buffer.byteLength(body)) };
      injectTrace(span, out);
      return exchange(url, method, out, body, signal);
    });

  const exchange = (url: URL, method: string, out: Record<string, string>, body: string | Uint8Array | undefined, signal: AbortSignal | undefined) =>
    new Promise<Answer>((resolve, reject) => {
      const secure = url.protocol === "https:";
      if (!secure && url.protocol !== "http:") return reject(new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${url.protocol}`) }));
      const fail = (e: unknown): void => reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: e }));
      let req: http.ClientRequest;
      try {
        req = (secure ? https : http).request(url, { method, headers: out, agent: secure ? agents.https : agents.http, signal });
      } catch (e) {
        return fail(e);
      }
      req.once("error", fail);
      req.once("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.once("error", fail);
        res.once("end", () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) h.append(k, item);
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", headers: h, body: Buffer.concat(chunks) });
        });
        // Cut short (a reset mid-body): no answer to trust.
        res.once("close", () => {
          if (!res.complete) fail(new Error("connection closed before the response ended"));
        });
      });
      req.end(body);
    });

  const nodeFetch: FetchLike = async (input, init = {}) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw signal.reason;
    let url = new URL(input);
    let method = (init.method ?? "GET").toUpperCase();
    let body = bodyOf(init.body);
    const headers: Record<string, string> = { accept: "*/*" };
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    if (typeof body === "string" && !("content-type" in headers)) headers["content-type"] = "text/plain;charset=UTF-8";
    for (let redirects = 0; ; redirects++) {
      const res = await once(url, method, headers, body, signal);
      const location = res.headers.get("location");
      const redirect = [301, 302, 303, 307, 308].includes(res.status) && location !== null;
      if (!redirect || init.redirect === "manual") {
        const empty = res.status === 204 || res.status === 205 || res.status === 304 || method === "HEAD";
        return new Response(empty ? null : res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
      }
      if (init.redirect === "error") throw new TypeError("fetch failed", { cause: new Error(`redirect to ${location} refused (redirect: error)`) });
      if (redirects >= MAX_REDIRECTS) throw new TypeError("fetch failed", { cause: new Error("redirect count exceeded") });
      const next = new URL(location, url);
      if ((res.status === 303 && method !== "HEAD") || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        for (const k of ["content-type", "content-length", "content-encoding", "content-language", "content-location"]) delete headers[k];
      }
      // fetch drops credentials when a redirect leaves the origin.
      if (next.origin !== url.origin) delete headers.authorization;
      url = next;
    }
  };

  return Object.assign(nodeFetch, {
    close(): void {
      agents.http.destroy();
      agents.https.destroy();
    },
  });
}

let shared: FetchLike | undefined;

/** The process's shared instance (its agents are made on the first call), as global fetch shares undici's dispatcher. */
export const nodeFetch: FetchLike = (input, init) => (shared ??= createNodeFetch())(input, init);
