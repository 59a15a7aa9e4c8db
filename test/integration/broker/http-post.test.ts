// The broker's node:http delivery client against real HTTP servers on port 0: keep-alive reuse, bounded sockets,
// statuses and bodies as sent, aborts, resets, and (through the broker) Knative's retry rule on 5xx/429; its CLIENT
// spans, and HttpEventBus (which emits through it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { CloudEvent } from "cloudevents";
import { afterEach, describe, expect, it } from "vitest";
import { HttpEventBus } from "../../../platform/bus/http.ts";
import { parseTriggerFile } from "../../../platform/eventing/triggers.ts";
import { createDeliver, EmbeddedBroker } from "../../../platform/local/broker/index.ts";
import { createHttpPost } from "../../../platform/local/broker/http-post.ts";
import { createLogger } from "../../../platform/log.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Srv {
  readonly url: string;
  /** Distinct client sockets seen. */
  readonly sockets: Set<Socket>;
  readonly bodies: { headers: IncomingMessage["headers"]; body: string }[];
}

async function server(handle: (req: IncomingMessage, res: ServerResponse, index: number) => void): Promise<Srv> {
  const sockets = new Set<Socket>();
  const bodies: Srv["bodies"] = [];
  const s: Server = createServer((req, res) => {
    sockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      handle(req, res, bodies.length - 1);
    });
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  }));
  const addr: AddressInfo | string | null = s.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}/hook?x=1`, sockets, bodies };
}

function client(opts?: Parameters<typeof createHttpPost>[0]): ReturnType<typeof createHttpPost> {
  const post = createHttpPost(opts);
  cleanups.push(() => post.close());
  return post;
}

describe("createHttpPost", () => {
  it("sends headers, body and content-length to the URI's path and query; answers status and body", async () => {
    const srv = await server((req, res) => {
      res.writeHead(201, { "content-type": "text/plain" });
      res.end(`${req.method} ${req.url}`);
    });
    const r = await client()(srv.url, { "ce-id": "a1", "content-type": "application/json" }, '{"n":"é"}');
    expect(r).toEqual({ status: 201, body: "POST /hook?x=1" });
    expect(srv.bodies[0]?.body).toBe('{"n":"é"}');
    expect(srv.bodies[0]?.headers).toMatchObject({ "ce-id": "a1", "content-type": "application/json", "content-length": "10" });
  });

  it("reuses one kept-alive socket for sequential posts to the same origin", async () => {
    const srv = await server((_req, res) => res.end("ok"));
    const post = client();
    for (let i = 0; i < 5; i++) expect((await post(srv.url, {}, `${i}`)).status).toBe(200);
    expect(srv.bodies).toHaveLength(5);
    expect(srv.sockets.size).toBe(1);
  });

  it("opens at most maxSocketsPerOrigin sockets; the rest queue and are all answered", async () => {
    const srv = await server((_req, res) => setTimeout(() => res.end("ok"), 20));
    const post = client({ maxSocketsPerOrigin: 2 });
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => post(srv.url, {}, `${i}`)));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(srv.sockets.size).toBe(2);
  });

  it("5xx and 429 come back as statuses (with their bodies), not errors; the body is cut to maxBodyChars", async () => {
    const statuses = [503, 429, 500];
    const srv = await server((_req, res, i) => {
      res.writeHead(statuses[i] ?? 200, { "retry-after": "1" });
      res.end("x".repeat(100));
    });
    const post = client({ maxBodyChars: 10 });
    for (const want of statuses) expect(await post(srv.url, {}, "")).toEqual({ status: want, body: "x".repeat(10) });
  });

  it("an aborted signal rejects and frees the slot; the next post still works", async () => {
    const srv = await server((_req, res) => {
      if (srv.bodies.length === 1) return; // the first request never gets an answer
      res.end("late");
    });
    const post = client({ maxSocketsPerOrigin: 1 });
    const ac = new AbortController();
    const pending = post(srv.url, {}, "slow", ac.signal);
    setTimeout(() => ac.abort(new Error("timeout after 50 ms")), 50);
    await expect(pending).rejects.toThrow();
    expect(await post(srv.url, {}, "next")).toEqual({ status: 200, body: "late" });
  });

  it("a connection reset before the answer rejects (a transport error)", async () => {
    const srv = await server((req) => req.socket.destroy());
    await expect(client()(srv.url, {}, "x")).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("a response cut short by the server rejects instead of answering a partial body", async () => {
    const srv = await server((req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setTimeout(() => req.socket.destroy(), 10);
    });
    await expect(client()(srv.url, {}, "x")).rejects.toThrow();
  });

  it("nothing listening rejects with the connect error", async () => {
    const srv = await server(() => undefined);
    const url = srv.url;
    for (const c of cleanups.splice(0)) await c();
    await expect(client()(url, {}, "x")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("a header value node:http refuses, or a non-http URI, rejects instead of throwing", async () => {
    const srv = await server((_req, res) => res.end());
    await expect(client()(srv.url, { "ce-id": "a\nb" }, "")).rejects.toThrow();
    await expect(client()("ftp://127.0.0.1/x", {}, "")).rejects.toThrow(/unsupported protocol/);
  });
});

describe("the broker over the built-in client", () => {
  it("retries 503 and 429 (Retry-After is not honoured, as in Knative without retryAfterMax), then delivers, on one socket", async () => {
    const statuses = [503, 429, 200];
    const srv = await server((_req, res, i) => {
      res.writeHead(statuses[i] ?? 200, { "retry-after": "3600" });
      res.end();
    });
    const file = parseTriggerFile({
      delivery: { retry: 3 },
      triggers: [{ name: "t", filters: [{ exact: { type: "com.example.work" } }], subscriber: { uri: srv.url } }],
    });
    const broker = new EmbeddedBroker({ dbPath: ":memory:", triggers: file.triggers, deliver: createDeliver({}), log: createLogger("silent") });
    cleanups.push(() => broker.stop());
    await broker.start();
    await broker.emit(new CloudEvent<unknown>({ id: "e1", source: "/t", type: "com.example.work", datacontenttype: "application/json", data: { n: 1 } }));
    await broker.idle();
    expect(srv.bodies).toHaveLength(3);
    expect(srv.bodies[2]?.headers).toMatchObject({ "ce-id": "e1", "ce-specversion": "1.0", "content-type": "application/json" });
    expect(srv.sockets.size).toBe(1);
    expect(broker.recentEvents()[0]?.deliveries[0]).toMatchObject({ state: "delivered", attempts: 3, lastStatus: 200 });
  });
});

describe("CLIENT spans and HttpEventBus over the shared client", () => {
  const spans = () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    return { exporter, tracer: provider.getTracer("test") };
  };

  it("records a CLIENT span per POST (method, url, status; ERROR on a 5xx and on a refused connection)", async () => {
    const srv = await server((_req, res, i) => {
      res.writeHead(i === 0 ? 202 : 500);
      res.end();
    });
    const { exporter, tracer } = spans();
    const post = createHttpPost({ tracer });
    cleanups.push(() => post.close());
    await post(srv.url, {}, "a");
    await post(srv.url, {}, "b");
    await expect(post("http://127.0.0.1:9/", {}, "c")).rejects.toThrow();
    const got = exporter.getFinishedSpans().map((s) => ({ kind: s.kind, attributes: s.attributes, status: s.status.code }));
    expect(got).toEqual([
      { kind: SpanKind.CLIENT, attributes: { "http.request.method": "POST", "url.full": srv.url, "http.response.status_code": 202 }, status: SpanStatusCode.UNSET },
      { kind: SpanKind.CLIENT, attributes: { "http.request.method": "POST", "url.full": srv.url, "http.response.status_code": 500 }, status: SpanStatusCode.ERROR },
      { kind: SpanKind.CLIENT, attributes: { "http.request.method": "POST", "url.full": "http://127.0.0.1:9/" }, status: SpanStatusCode.ERROR },
    ]);
  });

  it("HttpEventBus emits binary CloudEvents with its token; 5xx/429 are retryable, other 4xx not, a refused ingress retryable", async () => {
    const statuses = [202, 503, 400];
    const srv = await server((_req, res, i) => {
      res.writeHead(statuses[i] ?? 200);
      res.end();
    });
    const { exporter, tracer } = spans();
    const event = new CloudEvent<unknown>({ id: "e1", source: "/t", type: "com.example.work", datacontenttype: "application/json", data: { n: 1 } });
    const bus = new HttpEventBus({ url: srv.url, token: "tok", tracer });
    await bus.emit(event);
    await expect(bus.emit(event)).rejects.toMatchObject({ retryable: true, status: 503 });
    await expect(bus.emit(event)).rejects.toMatchObject({ retryable: false, status: 502 });
    await expect(new HttpEventBus({ url: "http://127.0.0.1:9/" }).emit(event)).rejects.toMatchObject({ retryable: true });
    expect(srv.bodies[0]).toMatchObject({ headers: { "ce-id": "e1", authorization: "Bearer tok" }, body: '{"n":1}' });
    // A PRODUCER and a CLIENT span per emit; that the CLIENT span is the PRODUCER's child (through the SDK's context
    // manager) is checked end to end in test/integration/telemetry/knative-entry.test.ts.
    const kinds = exporter.getFinishedSpans().map((s) => s.kind);
    expect(kinds.filter((k) => k === SpanKind.PRODUCER)).toHaveLength(3);
    expect(kinds.filter((k) => k === SpanKind.CLIENT)).toHaveLength(3);
  });
});
