import { mkdtemp, readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createAuth } from "../../../platform/auth/index.ts";
import { ROLES, highestRole, isRole, roleAtLeast } from "../../../platform/auth/roles.ts";
import type { Role } from "../../../platform/auth/roles.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { Jar, hiddenValue, appWith } from "./harness.ts";

const TOKEN = "admin-token-0123456789abcdef";
const log = createLogger("silent");

async function tmp(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "fw-auth-"));
}

async function login(app: Hono, jar: Jar, token = TOKEN, next = "/page"): Promise<Response> {
  const page = await app.request(`/login?next=${encodeURIComponent(next)}`);
  jar.take(page);
  const csrf = hiddenValue(await page.text(), "_csrf");
  const res = await app.request("/login", {
    method: "POST",
    headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf, token, next }).toString(),
  });
  jar.take(res);
  return res;
}

describe("roles", () => {
  it.each<[Role, Role, boolean]>([
    ["viewer", "viewer", true],
    ["viewer", "data-scientist", false],
    ["data-scientist", "viewer", true],
    ["data-scientist", "mlops-engineer", false],
    ["mlops-engineer", "data-scientist", true],
  ])("%s at least %s = %s", (have, need, ok) => expect(roleAtLeast(have, need)).toBe(ok));

  it("guards and orders", () => {
    expect(ROLES).toEqual(["viewer", "data-scientist", "mlops-engineer"]);
    expect(isRole("admin")).toBe(false);
    expect(highestRole(["viewer", "mlops-engineer", "data-scientist"])).toBe("mlops-engineer");
    expect(highestRole([])).toBeUndefined();
  });
});

describe("admin token", () => {
  it("is generated once, stored with mode 0600, and reused", async () => {
    const dir = await tmp();
    const config = parseConfig({ FLYWHEEL_DATA_DIR: dir });
    const a = await createAuth({ config, log });
    expect(a.generated).toBe(true);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const file = path.join(dir, "auth-token");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, "utf8")).trim()).toBe(a.token);
    const b = await createAuth({ config, log });
    expect(b.generated).toBe(false);
    expect(b.token).toBe(a.token);
  });

  it("comes from FLYWHEEL_AUTH_TOKEN when set, and no token file is written", async () => {
    const dir = await tmp();
    const a = await createAuth({ config: parseConfig({ FLYWHEEL_DATA_DIR: dir, FLYWHEEL_AUTH_TOKEN: TOKEN }), log });
    expect(a.token).toBe(TOKEN);
    expect(a.generated).toBe(false);
    await expect(stat(path.join(dir, "auth-token"))).rejects.toThrow(/ENOENT/);
  });
});

describe("API callers", () => {
  it.each<[string, Record<string, string>, number]>([
    ["no credentials", {}, 401],
    ["wrong bearer", { authorization: "Bearer nope-nope-nope-nope" }, 401],
    ["token prefix only", { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, 401],
    ["right bearer", { authorization: `Bearer ${TOKEN}` }, 200],
    ["basic with token as password", { authorization: `Basic ${Buffer.from(`mlflow:${TOKEN}`).toString("base64")}` }, 200],
    ["basic with wrong password", { authorization: `Basic ${Buffer.from("mlflow:x").toString("base64")}` }, 401],
  ])("%s -> %i", async (_name, headers, status) => {
    const auth = await createAuth({ config: parseConfig({ FLYWHEEL_DATA_DIR: await tmp(), FLYWHEEL_AUTH_TOKEN: TOKEN }), log });
    const res = await appWith(auth).request("/api/v1/jobs", { headers });
    expect(res.status).toBe(status);
    if (status === 401) {
      expect(await res.json()).toEqual({ error: "authentication required", code: "UNAUTHENTICATED" });
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="flywheel"');
    }
  });

  it("bearer calls are exempt from CSRF", async () => {
    const auth = await createAuth({ config: parseConfig({ FLYWHEEL_DATA_DIR: await tmp(), FLYWHEEL_AUTH_TOKEN: TOKEN }), log });
    const res = await appWith(auth).request("/api/v1/deployments", { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(202);
  });
});

describe("browser login", () => {
  const make = async (env: Record<string, string> = {}): Promise<Hono> =>
    appWith(await createAuth({ config: parseConfig({ FLYWHEEL_DATA_DIR: await tmp(), FLYWHEEL_AUTH_TOKEN: TOKEN, ...env }), log }));

  it("redirects an anonymous page view to /login with next, and htmx gets HX-Redirect", async () => {
    const app = await make();
    const res = await app.request("/page?tab=1", { headers: { accept: "text/html" } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/login?next=%2Fpage%3Ftab%3D1");
    const hx = await app.request("/page", { headers: { "hx-request": "true" } });
    expect(hx.status).toBe(401);
    expect(hx.headers.get("hx-redirect")).toBe("/login?next=%2Fpage");
  });

  it("logs in with the token, sets a HttpOnly SameSite=Lax session cookie, and redirects to next", async () => {
    const app = await make();
    const jar = new Jar();
    const res = await login(app, jar);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/page");
    const cookie = jar.raw.get("fw_session") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const page = await app.request("/page", { headers: { cookie: jar.header() } });
    expect(page.status).toBe(200);
  });

  it("marks cookies Secure behind TLS", async () => {
    const app = await make();
    const res = await app.request("/login", { headers: { "x-forwarded-proto": "https" } });
    expect(res.headers.getSetCookie().join("\n")).toMatch(/fw_csrf=[^;]+;.*Secure/);
    const viaPublic = await make({ FLYWHEEL_PUBLIC_URL: "https://flywheel.example.com" });
    expect((await viaPublic.request("/login")).headers.getSetCookie().join("\n")).toMatch(/Secure/);
  });

  it("refuses a wrong token with the form re-rendered and a message", async () => {
    const app = await make();
    const res = await login(app, new Jar(), "wrong-token");
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain("That token or password is not valid.");
    expect(html).toContain('name="token"');
  });

  it("rate-limits repeated failures", async () => {
    const app = await make();
    for (let i = 0; i < 10; i++) expect((await login(app, new Jar(), "wrong")).status).toBe(401);
    expect((await login(app, new Jar(), TOKEN)).status).toBe(429);
  });

  it("rejects a login POST without the CSRF token", async () => {
    const app = await make();
    const res = await app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost" },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("CSRF token is missing or invalid");
  });

  it.each([
    ["missing", undefined],
    ["forged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
  ])("rejects a session POST with a %s CSRF token, accepts the right one (field or header)", async (_n, forged) => {
    const app = await make();
    const jar = new Jar();
    await login(app, jar);
    const page = await app.request("/login", { headers: { cookie: jar.header() } });
    const csrf = hiddenValue(await page.text(), "_csrf");
    const form = (fields: Record<string, string>): RequestInit => ({
      method: "POST",
      headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
    const bad = await app.request("/page/deploy", form(forged ? { _csrf: forged } : {}));
    expect(bad.status).toBe(403);
    expect((await app.request("/page/deploy", form({ _csrf: csrf }))).status).toBe(200);
    const viaHeader = await app.request("/page/deploy", { method: "POST", headers: { cookie: jar.header(), "x-csrf-token": csrf } });
    expect(viaHeader.status).toBe(200);
  });

  it("logout ends the session even if the old cookie is replayed", async () => {
    const app = await make();
    const jar = new Jar();
    await login(app, jar);
    const stolen = jar.header();
    const page = await app.request("/login", { headers: { cookie: stolen } });
    const csrf = hiddenValue(await page.text(), "_csrf");
    const out = await app.request("/logout", {
      method: "POST",
      headers: { cookie: stolen, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrf }).toString(),
    });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login");
    expect((await app.request("/page", { headers: { cookie: stolen } })).status).toBe(302);
  });

  it("rejects a tampered session cookie", async () => {
    const app = await make();
    const jar = new Jar();
    await login(app, jar);
    const sess = jar.cookies.get("fw_session") ?? "";
    const [payload, mac] = sess.split(".");
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()), name: "mallory" })).toString("base64url");
    const res = await app.request("/page", { headers: { cookie: `fw_session=${forged}.${mac}` } });
    expect(res.status).toBe(302);
  });

  it.each([
    ["//evil.example.com", "/"],
    ["https://evil.example.com", "/"],
    ["/\\evil.example.com", "/"],
    ["/registry?x=1", "/registry?x=1"],
  ])("only redirects to local paths after login (next=%s)", async (next, expected) => {
    const res = await login(await make(), new Jar(), TOKEN, next);
    expect(res.headers.get("location")).toBe(expected);
  });
});

describe("dev mode", () => {
  it("makes everyone an mlops-engineer and generates no token", async () => {
    const dir = await tmp();
    const auth = await createAuth({ config: parseConfig({ FLYWHEEL_DATA_DIR: dir, FLYWHEEL_DEV_MODE: "1" }), log });
    expect(auth.token).toBeUndefined();
    expect(auth.generated).toBe(false);
    const app = appWith(auth);
    expect((await app.request("/api/v1/jobs")).status).toBe(200);
    const post = (headers: Record<string, string>): Promise<Response> =>
      Promise.resolve(app.request("/api/v1/deployments", { method: "POST", headers: { "content-type": "application/json", ...headers } }));
    // A program (the CLI) needs no CSRF token; a browser request from another site is still refused.
    expect((await post({})).status).toBe(202);
    expect((await post({ origin: "http://evil.example.com" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "cross-site", "x-csrf-token": "forged" })).status).toBe(403);
  });
});
