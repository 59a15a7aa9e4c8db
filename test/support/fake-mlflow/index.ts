// A stateful fake MLflow 2.17.2 tracking server over real HTTP(S), built from the recorded answers of a real server
// (test/fixtures/mlflow-golden, 323 steps) and nothing of Flywheel's: it imports no platform/ code, and
// test/unit/mlflow/fake-independent.test.ts fails if it ever does. It passes the transcript 323/323 with every message.
// For client tests it also records every request and injects faults (an error body, a connection dropped before or
// after the request is handled, a delay, the server going away).
//
// How each behaviour was derived (step numbers are 0-based indexes into the transcript):
// - state.ts: its own in-memory experiments, runs (metrics history, params, tags, dataset inputs), registered models,
//   versions, aliases and artifacts; the answer shapes key for key from steps 2, 70, 73, 110, 131, 218, 246, 282, 283
//   (empty lists are left out, a version's description/run_id/run_link are always there, latest_versions carry no
//   aliases). Experiment "0" is Default; version numbers are never reused (318).
// - params.ts: GET reads the query string, or a JSON body when there is none (11); other methods read the JSON body,
//   unparseable or empty meaning {} (8, 9); "Missing value" for an absent or empty required field (17, 18, 21...); the
//   proto type errors (63, 96, 176, 242, 312); page tokens (55-57, 165-166, 239-240, 277-278), a token even at
//   max_results 0 (243); raw SQL messages where MLflow leaks them (16, 33, 75, 219, 228).
// - app.ts: which paths exist under which methods; Flask's HTML 404/405/500 pages byte for byte (3-7, 13, 148, 241,
//   305-307, 311); Content-Type checks (309, 310); /health, /version (0, 1); /ajax-api (12, 140, 147, 308).
// - experiments.ts: 14-69 and 313 (a deleted experiment refuses runs and tags: 41, 42; deleting it twice is a 404: 43;
//   default search order newest first: 47; filter/order keys from the error messages 61, 62).
// - runs.ts and run-search.ts: 70-189 (start_time not defaulted: 73; run name and mlflow.runName tag: 79, 85, 108; NaN
//   and ±Infinity: 92-94, 134-135; params immutable: 101, 124; truncation at 6000/8000: 103, 118-121; the missing metric
//   or run is an empty answer: 137, 138; filter grammar and its errors: 150-175; unknown run_view_type: 178).
// - models.ts: 218-296 and 315-322 (a missing alias, even on a missing model, is 400 INVALID_PARAMETER_VALUE: 285, 286,
//   289; get-download-uri answers the source verbatim: 266; reserved alias names: 320, 321; source checks: 316, 317).
// - artifacts.ts: 190-217 (directories outlive their files: 208-210; a missing file is a 500 naming the server's path:
//   199; a directory is the HTML 500: 200; `..` anywhere in the raw path is "Invalid path": 201-207, 212).
// Not in the transcript, and therefore taken from MLflow's behaviour recorded elsewhere (each says so where it is
// implemented): the filter grammar's corners (double-quoted keys, NOT IN, `tag.`/`attribute.` prefixes); the
// registered-model `!=` tag filter matching a model without the tag, which the issue recorded from a real 3.x client
// (``tag.`mlflow.prompt.is_prompt` != 'true'``); one input per (name, digest) per run however often log-inputs sends
// it (the unique key of MLflow's inputs table); deleting or restoring an experiment doing the same to its runs; and
// registered-models/search answering each model as registered-models/get does (the transcript searches only before
// any version or alias exists). Logged models (`/logged-models`, MLflow 3.x) are not served: a 2.17.2
// server answers them with the HTML 404, and so does this fake.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createFakeApp } from "./app.ts";
import { json, type Reply } from "./recorded.ts";

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

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

export async function startFakeMlflow(opts: FakeOptions = {}): Promise<FakeMlflow> {
  const app = createFakeApp();
  const requests: RecordedRequest[] = [];
  const faults: { prefix: string; fault: Fault }[] = [];
  const drops: { prefix: string; left: number; after: boolean }[] = [];
  const delays: { match: (r: RecordedRequest) => boolean; ms: number; left: number; until?: (() => boolean) | undefined }[] = [];

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
        send(app.answer(method, req.url ?? "/", req.headers, body));
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
    },
  };
}
