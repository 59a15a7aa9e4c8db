// POSTs over node:http(s) with keep-alive agents, for the broker's deliveries and HttpEventBus: no fetch Request/Response
// or web streams (undici fetch was a third of the broker's CPU in bench/broker), and no ~25 ms undici load on a cold
// function's first emit. Each POST records the CLIENT span undici's instrumentation used to record for fetch.
import http from "node:http";
import https from "node:https";
import type { Span, Tracer } from "@opentelemetry/api";
import { defaultTracer } from "../telemetry/spans.ts";
import { inClientSpan, injectTrace } from "./client-span.ts";

export interface PostResult {
  readonly status: number;
  /** The first `maxBodyChars` characters of the response body (the rest is read and dropped, to reuse the socket). */
  readonly body: string;
}

export type Post = (uri: string, headers: Readonly<Record<string, string>>, body: string, signal?: AbortSignal) => Promise<PostResult>;

export interface HttpPostOptions {
  /** Sockets per subscriber origin (host:port); more concurrent attempts queue in the agent. Default 64. */
  readonly maxSocketsPerOrigin?: number | undefined;
  /**
   * How long an idle kept-alive socket stays open. Default 4 s, undici's default: below Node's and most servers'
   * 5 s keep-alive, so the client closes first and a request rarely races the server closing the socket. A server's
   * `Keep-Alive: timeout=N` hint lowers it further (Node's agent honours it).
   */
  readonly idleSocketMs?: number | undefined;
  /** Characters of a response body kept. Default 4096. */
  readonly maxBodyChars?: number | undefined;
  /** CLIENT spans for each POST (default: the global tracer, a no-op until the OTel SDK is started). */
  readonly tracer?: Tracer | undefined;
}

interface Target {
  readonly mod: typeof http | typeof https;
  readonly agent: http.Agent;
  readonly hostname: string;
  readonly port: string;
  readonly path: string;
}

/** Parsed subscriber URIs; a broker has a handful of subscribers, a bound keeps odd inputs from growing it. */
const MAX_TARGETS = 1_000;

/**
 * POST a string body and resolve with the status and the start of the body; a transport error (refused, reset,
 * aborted by `signal`, a response cut short) rejects. No redirects are followed, as Knative's dispatcher follows none.
 * Each POST is a CLIENT span (semconv http.request.method, url.full, http.response.status_code; ERROR on a transport
 * error or a status >= 400, as undici's instrumentation did) whose context goes out as W3C headers.
 */
export function createHttpPost(opts: HttpPostOptions = {}): Post & { close(): void } {
  const agentOpts: http.AgentOptions = {
    keepAlive: true,
    maxSockets: opts.maxSocketsPerOrigin ?? 64,
    maxFreeSockets: opts.maxSocketsPerOrigin ?? 64,
    timeout: opts.idleSocketMs ?? 4_000,
    // The most recently used socket first: fewer sockets stay warm, the idle ones time out.
    scheduling: "lifo",
  };
  const agents = { http: new http.Agent(agentOpts), https: new https.Agent(agentOpts) };
  const maxBody = opts.maxBodyChars ?? 4096;
  const targets = new Map<string, Target>();

  const target = (uri: string): Target => {
    const known = targets.get(uri);
    if (known) return known;
    const u = new URL(uri);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`unsupported protocol ${u.protocol}`);
    const secure = u.protocol === "https:";
    const t: Target = {
      mod: secure ? https : http,
      agent: secure ? agents.https : agents.http,
      // new URL keeps IPv6 literals bracketed; http.request wants them bare.
      hostname: u.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: u.port,
      path: `${u.pathname}${u.search}`,
    };
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(uri, t);
    return t;
  };

  const tracer = opts.tracer ?? defaultTracer();
  const send = (span: Span, uri: string, headers: Readonly<Record<string, string>>, body: string, signal?: AbortSignal) =>
    new Promise<PostResult>((resolve, reject) => {
      let req: http.ClientRequest;
      try {
        const t = target(uri);
        const out: Record<string, string> = { ...headers, "content-length": String(Buffer.byteLength(body)) };
        injectTrace(span, out);
        req = t.mod.request({ hostname: t.hostname, port: t.port, path: t.path, method: "POST", headers: out, agent: t.agent, signal });
      } catch (e) {
        // A bad URI or a header value node:http refuses: a transport error, as fetch's TypeError is.
        reject(e);
        return;
      }
      req.once("error", reject);
      req.once("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (text.length < maxBody) text += chunk;
        });
        res.once("end", () => resolve({ status: res.statusCode ?? 0, body: text.length > maxBody ? text.slice(0, maxBody) : text }));
        res.once("error", reject);
        // The connection closed before the body ended (a reset mid-response): no answer to trust.
        res.once("close", () => {
          if (!res.complete) reject(new Error("connection closed before the response ended"));
        });
      });
      req.end(body);
    });

  const post: Post = (uri, headers, body, signal) => inClientSpan(tracer, "POST", uri, (span) => send(span, uri, headers, body, signal));

  return Object.assign(post, {
    close(): void {
      agents.http.destroy();
      agents.https.destroy();
    },
  });
}
