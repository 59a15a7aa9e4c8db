// Login throttling keyed on the socket address, forwarding headers believed only from FLYWHEEL_TRUSTED_PROXIES, and
// anonymous bodies capped before parsing (issue 17 items 6 and 11). Real sockets from distinct loopback addresses.
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { anonymousBodyLimit } from "../../../platform/app/access.ts";
import { createAuth } from "../../../platform/auth/index.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import { ConfigError } from "../../../platform/errors.ts";
import { createLogger } from "../../../platform/log.ts";
import { hiddenValue, Jar } from "./harness.ts";

const TOKEN = "admin-token-0123456789abcdef";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(env: Record<string, string> = {}): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fw-throttle-"));
  const auth = await createAuth({ config: parseConfig({ FLYWHEEL_DATA_DIR: dir, FLYWHEEL_AUTH_TOKEN: TOKEN, ...env }), log: createLogger("silent") });
  const app = new Hono().use("*", auth.middleware).use("*", anonymousBodyLimit([])).use("*", auth.csrf).route("/", auth.routes);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  cleanups.push(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  return (server.address() as AddressInfo).port;
}

interface Answer { status: number; text: string; setCookie: string[] }
function call(port: number, from: string, method: string, p: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: p, headers, localAddress: from }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), setCookie: res.headers["set-cookie"] ?? [] }));
    });
    // The server may answer 413 and close before a large body is written: that EPIPE is expected, not a failure.
    req.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e)));
    req.end(body);
  });
}

/** One login attempt from `from`, through a fresh CSRF cookie as a browser would. */
async function login(port: number, from: string, token: string, headers: Record<string, string> = {}): Promise<number> {
  const page = await call(port, from, "GET", "/login");
  const jar = new Jar();
  jar.take(new Response(null, { headers: page.setCookie.map((c): [string, string] => ["set-cookie", c]) }));
  const body = new URLSearchParams({ _csrf: hiddenValue(page.text, "_csrf"), token, next: "/" }).toString();
  const res = await call(port, from, "POST", "/login", { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded", ...headers }, body);
  return res.status;
}

describe("login throttling", () => {
  it("cannot be bypassed by inventing X-Forwarded-For", async () => {
    const port = await start();
    for (let i = 0; i < 10; i++) expect(await login(port, "127.0.0.2", "wrong", { "x-forwarded-for": `203.0.113.${i}` })).toBe(401);
    expect(await login(port, "127.0.0.2", "wrong", { "x-forwarded-for": "198.51.100.7" })).toBe(429);
  });

  it("a stranger's failures do not lock out another client", async () => {
    const port = await start();
    for (let i = 0; i < 10; i++) expect(await login(port, "127.0.0.2", "wrong")).toBe(401);
    expect(await login(port, "127.0.0.2", TOKEN)).toBe(429);
    expect(await login(port, "127.0.0.3", TOKEN)).toBe(303);
  });

  it("believes X-Forwarded-For from a configured proxy only", async () => {
    const port = await start({ FLYWHEEL_TRUSTED_PROXIES: "127.0.0.4, 10.0.0.0/8" });
    // Two clients behind the proxy get their own buckets; a hop the client wrote itself (left of them) is ignored.
    for (let i = 0; i < 10; i++) expect(await login(port, "127.0.0.4", "wrong", { "x-forwarded-for": `198.51.100.${i}, 192.0.2.1, 10.1.2.3` })).toBe(401);
    expect(await login(port, "127.0.0.4", TOKEN, { "x-forwarded-for": "192.0.2.1" })).toBe(429);
    expect(await login(port, "127.0.0.4", TOKEN, { "x-forwarded-for": "192.0.2.2" })).toBe(303);
    // The same header from an untrusted peer counts for nothing: that peer is keyed on its own address.
    expect(await login(port, "127.0.0.5", TOKEN, { "x-forwarded-for": "192.0.2.1" })).toBe(303);
  });

  it("refuses a malformed FLYWHEEL_TRUSTED_PROXIES at start-up", () => {
    expect(() => parseConfig({ FLYWHEEL_TRUSTED_PROXIES: "10.0.0.0/8,proxy.local,10.0.0.1/33" })).toThrow(ConfigError);
    expect(parseConfig({ FLYWHEEL_TRUSTED_PROXIES: "10.0.0.0/8, ::1" }).auth.trustedProxies).toEqual(["10.0.0.0/8", "::1"]);
  });
});

describe("anonymous bodies", () => {
  it("are refused with 413 past a few KiB, before the form is parsed", async () => {
    const port = await start();
    // A 20 MB form is refused on its Content-Length: the answer comes before the body is even sent.
    const head = await new Promise<string>((resolve, reject) => {
      const sock = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" }, () => {
        sock.write(`POST /login HTTP/1.1\r\nhost: x\r\norigin: http://x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${20 * 1024 * 1024}\r\n\r\ntoken=a`);
      });
      sock.once("data", (d: Buffer) => {
        resolve(d.toString().split("\r\n")[0] ?? "");
        sock.destroy();
      });
      sock.on("error", reject);
    });
    expect(head).toBe("HTTP/1.1 413 Payload Too Large");
    // Without a Content-Length (chunked), the cap still holds.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/login", headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://x", "transfer-encoding": "chunked" } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on("error", (e: NodeJS.ErrnoException) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? undefined : reject(e)));
      for (let i = 0; i < 64; i++) req.write(Buffer.alloc(1024, "b"));
      req.end();
    });
    expect(chunked).toBe(413);
    // A normal login form still works.
    expect(await login(port, "127.0.0.2", TOKEN)).toBe(303);
  });
});
