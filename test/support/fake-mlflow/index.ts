// A stateful fake MLflow 2.17.2 tracking server over real HTTP(S), built from the recorded answers
// (test/fixtures/mlflow-golden): it passes the recorded transcript 323/323, including what MLflow gets wrong (HTML
// error pages, 500s, raw-path handling) and the 2.x tracing API. For client tests it records every request and injects
// faults: an MLflow error body, a connection dropped before the request is handled, or dropped after it was handled.
// State: the embedded registry's store, which answers every other recorded step exactly as MLflow did.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { createLogger } from "../../../platform/log.ts";
import { createRegistryServer } from "../../../platform/registry/index.ts";
import { artifactFailure, html, json, recordedPages, TraceStore, type Reply } from "./recorded.ts";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The JSON body, when there is one. */
  readonly json: unknown;
}

export interface Fault {
  readonly status: number;
  /** MLflow error body; omitted means an empty body. */
  readonly body?: { error_code: string; message: string };
  readonly headers?: Record<string, string>;
}

export interface FakeMlflow {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The next responses to requests whose path starts with pathPrefix (after /api/2.0/), in order. */
  fail(pathPrefix: string, ...faults: Fault[]): void;
  /** Drop the connection of the next `times` requests matching pathPrefix, before they are handled. */
  drop(pathPrefix: string, times: number): void;
  /** Handle the next `times` requests matching pathPrefix, then drop the connection instead of answering. */
  dropAfter(pathPrefix: string, times: number): void;
  /**
   * Hold the next `times` requests that `match` for `ms`, or until `until()` holds (polled) and then `ms` more, before
   * handling them: orders racing clients deterministically.
   */
  delay(match: (r: RecordedRequest) => boolean, ms: number, times?: number, until?: () => boolean): void;
  /** Make the server unreachable (connections refused on the same port) or reachable again. */
  setReachable(reachable: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface FakeOptions {
  /** TLS key and cert (PEM): serve https. */
  readonly tls?: { key: string; cert: string };
  /** Exact Authorization header value required; anything else gets 401 UNAUTHENTICATED. */
  readonly requireAuthorization?: string;
}

/** MLflow's exact error bodies for the common codes, for fault injection. */
export const ERRORS = {
  notFound: (m = "Run with id=x not found"): Fault => ({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST", message: m } }),
  exists: (m = "Experiment 'x' already exists."): Fault => ({ status: 400, body: { error_code: "RESOURCE_ALREADY_EXISTS", message: m } }),
  invalid: (m = "Invalid value"): Fault => ({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE", message: m } }),
  rateLimited: (retryAfter?: string): Fault => ({
    status: 429,
    body: { error_code: "REQUEST_LIMIT_EXCEEDED", message: "Too many requests" },
    ...(retryAfter ? { headers: { "retry-after": retryAfter } } : {}),
  }),
  unavailable: (): Fault => ({ status: 503, body: { error_code: "TEMPORARILY_UNAVAILABLE", message: "Service unavailable" } }),
  internal: (): Fault => ({ status: 500, body: { error_code: "INTERNAL_ERROR", message: "boom" } }),
  unauthenticated: (): Fault => ({ status: 401, body: { error_code: "UNAUTHENTICATED", message: "Credentials required" } }),
  denied: (): Fault => ({ status: 403, body: { error_code: "PERMISSION_DENIED", message: "Permission denied" } }),
} as const;

const ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts/";

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

export async function startFakeMlflow(opts: FakeOptions = {}): Promise<FakeMlflow> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-fake-mlflow-"));
  const registry = createRegistryServer({ dataDir, log: createLogger("silent") });
  const pages = recordedPages();
  const traces = new TraceStore();
  const requests: RecordedRequest[] = [];
  const faults: { prefix: string; fault: Fault }[] = [];
  const drops: { prefix: string; left: number; after: boolean }[] = [];
  const delays: { match: (r: RecordedRequest) => boolean; ms: number; left: number; until?: (() => boolean) | undefined }[] = [];

  const delegate = async (method: string, url: URL, headers: http.IncomingHttpHeaders, body: Buffer): Promise<Reply> => {
    const h = new Headers();
    for (const [k, v] of Object.entries(headers)) if (typeof v === "string") h.set(k, v);
    const r = await registry.app.request(`http://fake${url.pathname}${url.search}`, {
      method, headers: h, body: method === "GET" || method === "HEAD" || body.length === 0 ? undefined : new Uint8Array(body),
    });
    return { status: r.status, contentType: r.headers.get("content-type") ?? "", body: Buffer.from(await r.arrayBuffer()) };
  };

  /** MLflow's answer to one request (after faults): the recorded defects first, then the shared store. */
  const answer = async (req: http.IncomingMessage, url: URL, body: Buffer): Promise<Reply> => {
    const method = req.method ?? "GET";
    const text = body.toString("utf8");
    const parsed = parseJson(text);
    const rawPath = (req.url ?? "/").split("?")[0] ?? "/";
    // MLflow sees the raw path: a ".." segment in an artifact path is refused, not resolved away.
    if (rawPath.includes("/mlflow-artifacts/") && decodeURIComponent(rawPath).split("/").includes("..")) {
      return json(400, { error_code: "INVALID_PARAMETER_VALUE", message: "Invalid path" });
    }
    if (method !== "GET" && Array.isArray(parsed) && /^\/(ajax-)?api\/2\.0\/mlflow\//.test(url.pathname)) return html(500, pages[500]);
    const trace = traces.handle(method, url.pathname, url.searchParams, parsed, (id) => /^\d+$/.test(id));
    if (trace) return trace;
    // A GET without a query string reads its parameters from a JSON body.
    if (method === "GET" && url.search === "" && parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) url.searchParams.append(k, String(v));
    }
    const r = await delegate(method, url, req.headers, body);
    const code = r.contentType.includes("json") ? String(Object(parseJson(r.body.toString())).error_code ?? "") : "";
    if (r.status === 404 && code === "ENDPOINT_NOT_FOUND") return html(404, pages[404]);
    if (r.status === 405) return html(405, pages[405]);
    if (method === "GET" && url.pathname.startsWith(ARTIFACTS) && r.status === 404) {
      return artifactFailure(registry.artifactRoot, decodeURIComponent(url.pathname.slice(ARTIFACTS.length)), pages);
    }
    return r;
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://fake");
        const body = Buffer.concat(chunks);
        const text = body.toString("utf8");
        const method = req.method ?? "GET";
        const recorded: RecordedRequest = { method, path: url.pathname, query: url.searchParams, headers: req.headers, body: text, json: parseJson(text) };
        requests.push(recorded);
        const held = delays.find((d) => d.left > 0 && d.match(recorded));
        if (held) {
          held.left--;
          const deadline = Date.now() + 30_000;
          while (held.until && !held.until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
          await new Promise((r) => setTimeout(r, held.ms));
        }
        const rel = url.pathname.replace(/^\/api\/2\.0\//, "");
        const drop = drops.find((d) => d.left > 0 && rel.startsWith(d.prefix));
        if (drop) drop.left--;
        if (drop && !drop.after) {
          req.socket.destroy();
          return;
        }
        const send = (r: Reply, headers: Record<string, string> = {}): void => {
          if (drop?.after) {
            req.socket.destroy();
            return;
          }
          res.writeHead(r.status, { "content-type": r.contentType, ...headers });
          res.end(r.body);
        };
        if (opts.requireAuthorization && req.headers.authorization !== opts.requireAuthorization) {
          send(json(401, ERRORS.unauthenticated().body));
          return;
        }
        const fi = faults.findIndex((f) => rel.startsWith(f.prefix));
        const injected = fi >= 0 ? faults.splice(fi, 1)[0]?.fault : undefined;
        if (injected) {
          send({ status: injected.status, contentType: "application/json", body: injected.body ? JSON.stringify(injected.body) : "" }, injected.headers);
          return;
        }
        send(await answer(req, url, body));
      })().catch(() => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error_code: "INTERNAL_ERROR", message: "fake failed" }));
      });
    });
  };

  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr: string | AddressInfo | null = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  const closeServer = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `${opts.tls ? "https" : "http"}://${opts.tls ? "localhost" : "127.0.0.1"}:${port}`,
    requests,
    fail(prefix, ...fs2) {
      for (const fault of fs2) faults.push({ prefix, fault });
    },
    drop(prefix, times) {
      drops.push({ prefix, left: times, after: false });
    },
    delay(match, ms, times = 1, until) {
      delays.push({ match, ms, left: times, until });
    },
    dropAfter(prefix, times) {
      drops.push({ prefix, left: times, after: true });
    },
    async setReachable(reachable) {
      if (!reachable && server.listening) await closeServer();
      else if (reachable && !server.listening) await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      if (server.listening) await closeServer();
      registry.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
