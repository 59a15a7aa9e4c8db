// A strict fake MLflow tracking server over real HTTP(S), for client tests: records every request, checks the request
// shapes MLflow's server insists on, injects faults (status + MLflow error body, or a dropped connection), and keeps
// state with the embedded registry (whose paths, shapes and error bodies follow mlflow's protos).
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { createLogger } from "../../../platform/log.ts";
import { createRegistryServer } from "../../../platform/registry/index.ts";

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
  /** Drop the connection of the next `times` requests matching pathPrefix. */
  drop(pathPrefix: string, times: number): void;
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

const JSON_BODY_METHODS = new Set(["POST", "PATCH", "DELETE"]);

/** Request shapes the real server refuses; the message says why. */
function strictProblem(method: string, p: string, headers: http.IncomingHttpHeaders, body: string): string | undefined {
  if (!p.startsWith("/api/2.0/mlflow/")) return undefined;
  if (method === "GET" && body.length > 0) return "GET requests carry their parameters in the query string";
  if (JSON_BODY_METHODS.has(method) && body.length > 0 && !String(headers["content-type"] ?? "").startsWith("application/json")) {
    return "Bad Request. Content-Type must be application/json";
  }
  return undefined;
}

export async function startFakeMlflow(opts: FakeOptions = {}): Promise<FakeMlflow> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-fake-mlflow-"));
  const registry = createRegistryServer({ dataDir, log: createLogger("silent") });
  const app = new Hono().route("/api/2.0", registry.routes);
  const requests: RecordedRequest[] = [];
  const faults: { prefix: string; fault: Fault }[] = [];
  const drops: { prefix: string; left: number }[] = [];

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://fake");
        const body = Buffer.concat(chunks);
        const text = body.toString("utf8");
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const method = req.method ?? "GET";
        requests.push({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body: text, json });
        const rel = url.pathname.replace(/^\/api\/2\.0\//, "");
        const drop = drops.find((d) => d.left > 0 && rel.startsWith(d.prefix));
        if (drop) {
          drop.left--;
          req.socket.destroy();
          return;
        }
        const send = (status: number, payload: string, headers: Record<string, string> = {}): void => {
          res.writeHead(status, { "content-type": "application/json", ...headers });
          res.end(payload);
        };
        if (opts.requireAuthorization && req.headers.authorization !== opts.requireAuthorization) {
          send(401, JSON.stringify(ERRORS.unauthenticated().body));
          return;
        }
        const fi = faults.findIndex((f) => rel.startsWith(f.prefix));
        const injected = fi >= 0 ? faults.splice(fi, 1)[0]?.fault : undefined;
        if (injected) {
          send(injected.status, injected.body ? JSON.stringify(injected.body) : "", injected.headers);
          return;
        }
        const problem = strictProblem(method, url.pathname, req.headers, text);
        if (problem) {
          send(400, JSON.stringify({ error_code: "INVALID_PARAMETER_VALUE", message: problem }));
          return;
        }
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
        const r = await app.request(`http://fake${url.pathname}${url.search}`, {
          method,
          headers,
          body: method === "GET" || method === "HEAD" || body.length === 0 ? undefined : new Uint8Array(body),
        });
        const out = Buffer.from(await r.arrayBuffer());
        res.writeHead(r.status, Object.fromEntries(r.headers.entries()));
        res.end(out);
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
  return {
    url: `${opts.tls ? "https" : "http"}://${opts.tls ? "localhost" : "127.0.0.1"}:${port}`,
    requests,
    fail(prefix, ...fs2) {
      for (const fault of fs2) faults.push({ prefix, fault });
    },
    drop(prefix, times) {
      drops.push({ prefix, left: times });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      registry.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
