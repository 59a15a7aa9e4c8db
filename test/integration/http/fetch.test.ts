// nodeFetch (platform/http/fetch.ts) answers as the global fetch does, on real servers: the same request reaches the
// server (method, body, credentials across redirects) and the same Response comes back; errors and aborts reject alike.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeFetch, type FetchLike } from "../../../platform/http/fetch.ts";
import { createTelemetry } from "../../../platform/telemetry/sdk.ts";

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly body: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly traceparent?: string | undefined;
}

let seen: Seen[] = [];
const sockets = new Set<unknown>();
let base = "";
let other = "";

/** Routes: /json, /empty (204), /slow (answers after 2 s), /redirect/<status>?to=<url>, /reset (drops the socket mid-body). */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  sockets.add(req.socket);
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push({ method: req.method ?? "", path: url.pathname, body: Buffer.concat(chunks).toString(), authorization: req.headers.authorization, contentType: req.headers["content-type"], ...(typeof req.headers.traceparent === "string" ? { traceparent: req.headers.traceparent } : {}) });
    const redirect = /^\/redirect\/(\d+)$/.exec(url.pathname);
    if (redirect) res.writeHead(Number(redirect[1]), { location: url.searchParams.get("to") ?? "/json" }).end();
    else if (url.pathname === "/empty") res.writeHead(204).end();
    else if (url.pathname === "/slow") setTimeout(() => res.writeHead(200).end("late"), 2_000);
    else if (url.pathname === "/reset") {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => res.destroy());
    } else res.writeHead(url.pathname === "/json" ? 200 : 404, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"] }).end(JSON.stringify({ ok: url.pathname === "/json" }));
  });
}

const servers: http.Server[] = [];
const listen = (): Promise<string> =>
  new Promise((resolve) => {
    const s = http.createServer(handler);
    servers.push(s);
    s.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`));
  });

const nodeFetch = createNodeFetch();
beforeAll(async () => {
  [base, other] = await Promise.all([listen(), listen()]);
});
afterAll(async () => {
  nodeFetch.close();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** What a caller and the server each observe of one exchange. */
async function observe(doFetch: FetchLike, url: string, init: RequestInit): Promise<unknown> {
  seen = [];
  const res = await doFetch(url, init);
  const text = await res.text();
  return { status: res.status, ok: res.ok, text, type: res.headers.get("content-type"), cookies: res.headers.get("set-cookie"), bodyNull: res.body === null, seen };
}

const global: FetchLike = (input, init) => fetch(input, init);

describe("nodeFetch against the global fetch", () => {
  const cases: [string, () => string, RequestInit][] = [
    ["a GET", () => `${base}/json`, { headers: { authorization: "Bearer t" } }],
    ["a POST with a JSON body", () => `${base}/json`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}' }],
    ["a string body without a type", () => `${base}/json`, { method: "PUT", body: "text" }],
    ["a byte body", () => `${base}/json`, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array([104, 105]) }],
    ["a 404", () => `${base}/nope`, {}],
    ["a 204", () => `${base}/empty`, { method: "DELETE" }],
    ["a HEAD", () => `${base}/json`, { method: "HEAD" }],
    ["a 302 after a POST (GET, no body)", () => `${base}/redirect/302`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }],
    ["a 303 (GET, no body)", () => `${base}/redirect/303`, { method: "PUT", body: "x" }],
    ["a 307 (same method and body)", () => `${base}/redirect/307`, { method: "POST", body: "keep", headers: { authorization: "Bearer t" } }],
    ["a redirect to another origin (credentials dropped)", () => `${base}/redirect/307?to=${encodeURIComponent(`${other}/json`)}`, { method: "POST", body: "b", headers: { authorization: "Bearer t" } }],
    ["a redirect, manual", () => `${base}/redirect/302`, { redirect: "manual" }],
  ];
  it.each(cases)("%s", async (_name, url, init) => {
    expect(await observe(nodeFetch, url(), init)).toEqual(await observe(global, url(), init));
  });

  it("keeps the connection alive between requests", async () => {
    sockets.clear();
    for (let i = 0; i < 3; i++) await (await nodeFetch(`${base}/json`)).json();
    expect(sockets.size).toBe(1);
  });

  it("rejects as fetch does: a refused connection, a redirect refused, a body cut short, an abort", async () => {
    const closed = await listen();
    await new Promise((r) => servers.pop()?.close(r));
    for (const doFetch of [nodeFetch, global]) {
      await expect(doFetch(`${closed}/json`)).rejects.toMatchObject({ name: "TypeError", message: "fetch failed", cause: { code: "ECONNREFUSED" } });
      await expect(doFetch(`${base}/redirect/302`, { redirect: "error" })).rejects.toMatchObject({ name: "TypeError", message: "fetch failed" });
      // fetch resolves at the headers and fails reading; nodeFetch reads the body first: both fail the caller's read.
      await expect(doFetch(`${base}/reset`).then((r) => r.text())).rejects.toThrow();
      await expect(doFetch(`${base}/slow`, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({ name: "TimeoutError" });
      const aborted = new AbortController();
      aborted.abort(new Error("stop"));
      await expect(doFetch(`${base}/json`, { signal: aborted.signal })).rejects.toThrow("stop");
    }
  });
});

describe("nodeFetch's spans", () => {
  it("records a CLIENT span per request and sends its traceparent (ERROR on a 4xx and on a refused connection)", async () => {
    // The SDK as a function starts it (global tracer provider and W3C propagator); nodeFetch takes the global tracer.
    const exporter = new InMemorySpanExporter();
    const telemetry = await createTelemetry({ functionName: "fetch-test", exporter, instrumentFetch: false });
    const traced = createNodeFetch();
    try {
      seen = [];
      await (await traced(`${base}/json`, { method: "POST", body: "{}" })).text();
      await (await traced(`${base}/nope`)).text();
      await expect(traced("http://127.0.0.1:9/")).rejects.toThrow("fetch failed");
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => ({ kind: s.kind, name: s.name, attributes: s.attributes, status: s.status.code }))).toEqual([
        { kind: SpanKind.CLIENT, name: "POST", attributes: { "http.request.method": "POST", "url.full": `${base}/json`, "http.response.status_code": 200 }, status: SpanStatusCode.UNSET },
        { kind: SpanKind.CLIENT, name: "GET", attributes: { "http.request.method": "GET", "url.full": `${base}/nope`, "http.response.status_code": 404 }, status: SpanStatusCode.ERROR },
        { kind: SpanKind.CLIENT, name: "GET", attributes: { "http.request.method": "GET", "url.full": "http://127.0.0.1:9/" }, status: SpanStatusCode.ERROR },
      ]);
      expect(seen.map((s) => s.traceparent)).toEqual(spans.slice(0, 2).map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`));
    } finally {
      traced.close();
      await telemetry.shutdown();
    }
  });
});
