// Test support: real HTTP servers on port 0 (a recording subscriber, and a hono app such as the broker ingress).
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly delayMs?: number;
}

export interface Subscriber {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

/** An HTTP subscriber that records every request and answers with `reply(request, index)`. */
export async function startSubscriber(reply: (r: Received, index: number) => Reply = () => ({ status: 200 })): Promise<Subscriber> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
      received.push(r);
      const out = reply(r, received.length - 1);
      const send = (): void => {
        res.writeHead(out.status, { "content-type": "application/json" });
        res.end(out.body ?? "");
      };
      if (out.delayMs) setTimeout(send, out.delayMs);
      else send();
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/`, received, close: () => closeServer(server) };
}

/** Serve a hono app on 127.0.0.1:0. */
export async function serveApp(app: Hono): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const addr: AddressInfo | string | null = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : 0);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Poll until `check` returns true (no fixed sleeps). */
export async function waitFor(check: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
