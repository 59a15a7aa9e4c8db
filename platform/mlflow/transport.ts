// HTTP to an MLflow server: auth (bearer or basic), custom CA bundle, JSON calls, bounded retries on 429/503/connection errors.
import fs from "node:fs";
import { createNodeFetch, nodeFetch } from "../http/fetch.ts";
import { mlflowError, MlflowUpstreamError } from "./errors.ts";
import { trimTrailingSlashes } from "../slashes.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Total attempts including the first; default 5. */
  readonly attempts?: number;
  /** First backoff delay in ms; doubles each attempt. Default 200. */
  readonly baseDelayMs?: number;
  /** Cap for one delay (and for Retry-After). Default 5000. */
  readonly maxDelayMs?: number;
}

export interface MlflowClientOptions {
  /** http(s)://host[:port][/prefix] of the MLflow server (MLFLOW_TRACKING_URI). */
  readonly trackingUri: string;
  /** Bearer token (MLFLOW_TRACKING_TOKEN). Wins over username/password. */
  readonly token?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** PEM file of CA certificates to trust for https (MLFLOW_TRACKING_SERVER_CERT_PATH). */
  readonly caBundlePath?: string | undefined;
  /** Injected fetch, e.g. an embedded Hono app's request() to call the in-process server. */
  readonly fetch?: FetchLike | undefined;
  readonly retry?: RetryOptions | undefined;
  /** Injected sleep, for tests. */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

const RETRY_STATUS = new Set([429, 503]);

/** A fetch over node:https trusting `ca` (Node 20's global fetch cannot take one without undici's Agent). */
export function fetchWithCa(ca: Buffer): FetchLike {
  return createNodeFetch({ ca });
}

/** A URL without its userinfo, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/+$/, "");
  } catch {
    return url;
  }
}

export class MlflowTransport {
  readonly baseUrl: string;
  private readonly doFetch: FetchLike;
  private readonly auth: string | undefined;
  private readonly attempts: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: MlflowClientOptions) {
    this.baseUrl = trimTrailingSlashes(opts.trackingUri);
    if (!/^https?:\/\//.test(this.baseUrl)) throw new TypeError(`trackingUri must be an http(s) URL, got ${opts.trackingUri}`);
    // node:http, not the global fetch: ui's and infer's first requests read the registry, and a first fetch() loads undici.
    this.doFetch = opts.fetch ?? (opts.caBundlePath ? fetchWithCa(fs.readFileSync(opts.caBundlePath)) : nodeFetch);
    this.auth = opts.token
      ? `Bearer ${opts.token}`
      : opts.username !== undefined
        ? `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ""}`).toString("base64")}`
        : undefined;
    this.attempts = Math.max(1, Math.min(opts.retry?.attempts ?? 5, 10));
    this.baseDelay = opts.retry?.baseDelayMs ?? 200;
    this.maxDelay = opts.retry?.maxDelayMs ?? 5000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  private backoff(attempt: number, retryAfter: string | null): number {
    const seconds = retryAfter !== null ? Number(retryAfter) : Number.NaN;
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, this.maxDelay);
    const exp = Math.min(this.baseDelay * 2 ** attempt, this.maxDelay);
    return exp / 2 + Math.random() * (exp / 2);
  }

  /**
   * One HTTP exchange with retries on 429/503 and connection failures only. retryConnection=false: a connection failure
   * is not retried, because the server may have handled a request that is not idempotent (runs/create); the caller looks
   * for what it created before trying again.
   */
  async send(method: string, url: string, headers: Record<string, string>, body: string | Uint8Array | undefined, context: string, retryConnection = true): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.auth) h.authorization = this.auth;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.doFetch(url, { method, headers: h, body: typeof body === "string" || body === undefined ? body : new Uint8Array(body) });
      } catch (e) {
        if (attempt + 1 >= this.attempts || !retryConnection) {
          throw new MlflowUpstreamError(`${context}: cannot reach MLflow at ${this.baseUrl}`, true, "CONNECTION_ERROR", 0, e);
        }
        await this.sleep(this.backoff(attempt, null));
        continue;
      }
      if (RETRY_STATUS.has(res.status) && attempt + 1 < this.attempts) {
        await res.body?.cancel();
        await this.sleep(this.backoff(attempt, res.headers.get("retry-after")));
        continue;
      }
      return res;
    }
  }

  /** The server's /health, tried once (a readiness probe must not retry): true, or why not. */
  async health(): Promise<true | string> {
    const where = redact(this.baseUrl);
    try {
      const res = await this.doFetch(`${this.baseUrl}/health`, { method: "GET", headers: this.auth ? { authorization: this.auth } : {} });
      await res.body?.cancel();
      return res.ok ? true : `MLflow at ${where} answers /health with ${res.status}`;
    } catch {
      return `MLflow at ${where} is unreachable`;
    }
  }

  /** The server's MLflow version from /version (2.x and 3.x servers answer plain text); undefined if it has none. */
  async serverVersion(): Promise<string | undefined> {
    const res = await this.send("GET", `${this.baseUrl}/version`, {}, undefined, "GET /version");
    const text = (await res.text()).trim();
    return res.ok && /^\d+\.\d+/.test(text) ? text : undefined;
  }

  /** A JSON REST call under /api/2.0/. GET puts params in the query string; others send a JSON body. */
  async call(method: "GET" | "POST" | "PATCH" | "DELETE", endpoint: string, params: Record<string, unknown> = {}, opts: { retryConnection?: boolean } = {}): Promise<unknown> {
    let url = `${this.baseUrl}/api/2.0/${endpoint}`;
    let body: string | undefined;
    const headers: Record<string, string> = { accept: "application/json" };
    if (method === "GET") {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) {
        if (v === undefined || v === null) continue;
        for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
      }
      const q = qs.toString();
      if (q) url += `?${q}`;
    } else {
      body = JSON.stringify(params);
      headers["content-type"] = "application/json";
    }
    const context = `${method} ${endpoint}`;
    const res = await this.send(method, url, headers, body, context, opts.retryConnection ?? true);
    const text = await res.text();
    let parsed: unknown = {};
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.ok) throw new MlflowUpstreamError(`${context}: response is not JSON`, false, "MALFORMED_RESPONSE", res.status);
        parsed = {};
      }
    }
    if (!res.ok) throw mlflowError(res.status, parsed, context);
    return parsed;
  }
}
