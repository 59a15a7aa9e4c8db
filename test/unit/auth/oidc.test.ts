import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createAuth } from "../../../platform/auth/index.ts";
import { claimValues } from "../../../platform/auth/oidc.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { startFakeOidc } from "../../support/fake-oidc/index.ts";
import type { FakeOidc, FakeOidcOptions } from "../../support/fake-oidc/index.ts";
import { Jar, appWith } from "./harness.ts";

const log = createLogger("silent");
const users: FakeOidcOptions["users"] = [
  { sub: "u-ana", preferred_username: "ana", claims: { groups: ["ml-platform", "everyone"] } },
  { sub: "u-vic", preferred_username: "victor", claims: { groups: ["everyone"] } },
  { sub: "u-dee", preferred_username: "dee", claims: { groups: ["data-science"] } },
  { sub: "u-nob", preferred_username: "nobody", claims: { groups: ["contractors"] } },
];

async function platformFor(idp: FakeOidc, clientSecret?: string): Promise<Hono> {
  const config = parseConfig({
    FLYWHEEL_DATA_DIR: await mkdtemp(path.join(os.tmpdir(), "fw-oidc-")),
    FLYWHEEL_AUTH_TOKEN: "admin-token-0123456789abcdef",
    FLYWHEEL_OIDC_ISSUER: idp.issuer,
    FLYWHEEL_OIDC_CLIENT_ID: "flywheel",
    ...(clientSecret ? { FLYWHEEL_OIDC_CLIENT_SECRET: clientSecret } : {}),
    FLYWHEEL_OIDC_ROLE_MAP: "ml-platform=mlops-engineer,everyone=viewer,data-science=data-scientist",
  });
  return appWith(await createAuth({ config, log }));
}

/** Browser-like walk through the code flow: /oidc/start -> provider -> /oidc/callback. */
async function oidcLogin(app: Hono, jar: Jar, sub: string): Promise<Response> {
  const start = await app.request("/oidc/start?next=%2Fpage");
  jar.take(start);
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get("location") ?? "");
  authorize.searchParams.set("login_hint", sub);
  const idpRes = await fetch(authorize, { redirect: "manual" });
  const back = new URL(idpRes.headers.get("location") ?? "");
  const cb = await app.request(back.pathname + back.search, { headers: { cookie: jar.header() } });
  jar.take(cb);
  return cb;
}

describe("OIDC code flow with PKCE", () => {
  let idp: FakeOidc;
  let app: Hono;
  beforeAll(async () => {
    idp = await startFakeOidc({ clientId: "flywheel", clientSecret: "s3cret", users });
    app = await platformFor(idp, "s3cret");
  });
  afterAll(() => idp.close());

  it("sends the provider an S256 challenge, state and nonce", async () => {
    const res = await app.request("/oidc/start");
    const url = new URL(res.headers.get("location") ?? "");
    expect(url.origin + url.pathname).toBe(`${idp.issuer}/authorize`);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("redirect_uri")).toBe("http://localhost/oidc/callback");
    expect(url.searchParams.get("state")).toBeTruthy();
    expect(url.searchParams.get("nonce")).toBeTruthy();
    expect(res.headers.getSetCookie().join()).toMatch(/fw_oidc=.*HttpOnly.*SameSite=Lax/);
  });

  it("logs in, maps the role claim, and uses client_secret_basic plus the code verifier", async () => {
    const jar = new Jar();
    const cb = await oidcLogin(app, jar, "u-ana");
    expect(cb.status).toBe(303);
    expect(cb.headers.get("location")).toBe("/page");
    const last = idp.tokenRequests.at(-1);
    expect(last?.form.code_verifier).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(last?.authorization).toMatch(/^Basic /);
    const form = async (): Promise<Response> => {
      // The page with the form sets the CSRF cookie its token is made from (a browser keeps it).
      const page = await app.request("/login", { headers: { cookie: jar.header() } });
      jar.take(page);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
      return app.request("/page/deploy", {
        method: "POST",
        headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf }).toString(),
      });
    };
    expect((await form()).status).toBe(200);
  });

  it("reaches the provider over node:http, not the global fetch (whose first call loads undici in a cold pod)", async () => {
    const fresh = await platformFor(idp, "s3cret");
    const real = globalThis.fetch;
    const seen: string[] = [];
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      seen.push(String(input instanceof Request ? input.url : input));
      return real(input, init);
    });
    try {
      expect((await oidcLogin(fresh, new Jar(), "u-ana")).status).toBe(303);
    } finally {
      spy.mockRestore();
    }
    // Only the test's own browser step (the provider's authorize page) used it; discovery and the token exchange did not.
    expect(seen.map((u) => new URL(u).pathname)).toEqual(["/authorize"]);
    expect(idp.tokenRequests.length).toBeGreaterThan(0);
  });

  it("gives a viewer read access and a 403 on deploy", async () => {
    const jar = new Jar();
    expect((await oidcLogin(app, jar, "u-vic")).status).toBe(303);
    expect((await app.request("/page", { headers: { cookie: jar.header() } })).status).toBe(200);
    const page = await app.request("/login", { headers: { cookie: jar.header() } });
    jar.take(page);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
    const res = await app.request("/page/deploy", {
      method: "POST",
      headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrf }).toString(),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("this needs the mlops-engineer role; you are viewer");
  });

  it("refuses a user whose claim maps to no role", async () => {
    const res = await oidcLogin(app, new Jar(), "u-nob");
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("no Flywheel role is mapped for nobody");
  });

  it("refuses a callback whose state does not match", async () => {
    const jar = new Jar();
    jar.take(await app.request("/oidc/start"));
    const res = await app.request("/oidc/callback?code=abc&state=forged", { headers: { cookie: jar.header() } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("expired or did not start here");
  });

  it("refuses a callback with no pending-login cookie", async () => {
    const res = await app.request("/oidc/callback?code=abc&state=x");
    expect(res.status).toBe(401);
  });

  it("accepts the provider's JWTs as API bearer tokens, mapped to roles", async () => {
    const viewer = await idp.mint("u-vic");
    const dee = await idp.mint("u-dee");
    expect((await app.request("/api/v1/jobs", { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(200);
    expect((await app.request("/api/v1/deployments", { method: "POST", headers: { authorization: `Bearer ${dee}` } })).status).toBe(403);
    const expired = await idp.mint("u-ana", {}, "-1m");
    expect((await app.request("/api/v1/jobs", { headers: { authorization: `Bearer ${expired}` } })).status).toBe(401);
  });
});

describe("OIDC token verification failures", () => {
  it.each<[string, Partial<FakeOidcOptions>]>([
    ["signed with a key the provider does not publish", { signWithUnpublishedKey: true }],
    ["issued for another audience", { audience: "someone-else" }],
  ])("refuses an ID token %s", async (_n, extra) => {
    const idp = await startFakeOidc({ clientId: "flywheel", users, ...extra });
    try {
      const app = await platformFor(idp);
      const res = await oidcLogin(app, new Jar(), "u-ana");
      expect(res.status).toBe(401);
      const jwt = await idp.mint("u-ana");
      expect((await app.request("/api/v1/jobs", { headers: { authorization: `Bearer ${jwt}` } })).status).toBe(401);
    } finally {
      await idp.close();
    }
  });
});

describe("claimValues", () => {
  it.each<[Record<string, unknown>, string, string[]]>([
    [{ groups: ["a", "b", 3] }, "groups", ["a", "b"]],
    [{ role: "viewer" }, "role", ["viewer"]],
    [{ realm_access: { roles: ["x"] } }, "realm_access.roles", ["x"]],
    [{}, "groups", []],
  ])("%j %s", (claims, claim, expected) => expect(claimValues(claims, claim)).toEqual(expected));
});
