// Login, logout and the OIDC redirect legs. Mounted at "/" by the app.
import type { BlockList } from "node:net";
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Logger } from "../log.ts";
import { errorFields } from "../log.ts";
import { ForbiddenError, UnauthorizedError } from "../errors.ts";
import { clientAddress } from "./client-address.ts";
import { csrfTokenOf } from "./csrf-token.ts";
import { baseUrl, cookieOptions, safeNext } from "./http.ts";
import { LoginPage } from "./login-page.tsx";
import { PendingLoginSchema } from "./oidc.ts";
import type { OidcClient } from "./oidc.ts";
import { safeEqual } from "./secrets.ts";
import { OIDC_COOKIE, SESSION_COOKIE, SESSION_TTL_SECONDS } from "./session.ts";
import type { Signer } from "./session.ts";
import type { Role } from "./roles.ts";

export interface AuthRouteDeps {
  readonly token: string | undefined;
  readonly devMode: boolean;
  readonly signer: Signer;
  readonly oidc: OidcClient | undefined;
  readonly publicUrl: string | undefined;
  /** Proxies whose X-Forwarded-For is believed; everyone else is keyed on the socket address. */
  readonly trustedProxies: BlockList;
  readonly log: Logger;
  readonly csrf: MiddlewareHandler;
  clearSession(c: Context): void;
}

const FAILURE_WINDOW_MS = 60_000;
const MAX_FAILURES = 10;
/** Past this many addresses, idle ones are forgotten so the table cannot grow without bound. */
const MAX_TRACKED_CLIENTS = 10_000;

export function authRoutes(d: AuthRouteDeps): Hono {
  const app = new Hono();
  // Failed logins per client address in the last minute: slows down guessing without locking anyone out for long.
  // The address is the socket's (or a trusted proxy's word): a header the client writes would let it pick a fresh
  // bucket per attempt, and one shared bucket for "no header" would let a stranger lock the admin out.
  const failures = new Map<string, number[]>();
  const clientKey = (c: Context): string => clientAddress(c, d.trustedProxies);
  const recentFailures = (key: string): number[] => {
    const now = Date.now();
    if (failures.size > MAX_TRACKED_CLIENTS) {
      for (const [k, list] of failures) if (!list.some((t) => now - t < FAILURE_WINDOW_MS)) failures.delete(k);
    }
    const list = (failures.get(key) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
    failures.set(key, list);
    return list;
  };

  const render = (c: Context, next: string, error: string | undefined, status: 200 | 401 | 403 | 429 | 502 = 200): Response | Promise<Response> =>
    c.html(<LoginPage csrf={csrfTokenOf(c)} next={next} error={error} oidc={Boolean(d.oidc)} />, status);

  const startSession = (c: Context, name: string, role: Role, next: string): Response => {
    const { cookie } = d.signer.newSession(name, role);
    setCookie(c, SESSION_COOKIE, cookie, cookieOptions(c, d.publicUrl, SESSION_TTL_SECONDS));
    d.log.info("login", { user: name, role });
    if (c.req.header("hx-request")) {
      c.header("HX-Redirect", next);
      return c.body(null, 204);
    }
    return c.redirect(next, 303);
  };

  app.get("/login", (c) => {
    const next = safeNext(c.req.query("next"));
    if (d.devMode) return c.redirect(next, 302);
    return render(c, next, undefined);
  });

  app.post("/login", d.csrf, async (c) => {
    const body = await c.req.parseBody();
    const next = safeNext(typeof body.next === "string" ? body.next : undefined);
    const given = typeof body.token === "string" ? body.token.trim() : "";
    const key = clientKey(c);
    if (recentFailures(key).length >= MAX_FAILURES) return render(c, next, "Too many failed attempts; wait a minute.", 429);
    if (!d.token || !given || !safeEqual(given, d.token)) {
      recentFailures(key).push(Date.now());
      d.log.warn("login failed", { client: key });
      return render(c, next, "That token or password is not valid.", 401);
    }
    return startSession(c, "admin", "mlops-engineer", next);
  });

  app.post("/logout", d.csrf, async (c) => {
    const s = d.signer.readSession(getCookie(c, SESSION_COOKIE));
    if (s) await d.signer.revoke(s);
    d.clearSession(c);
    if (c.req.header("hx-request")) {
      c.header("HX-Redirect", "/login");
      return c.body(null, 204);
    }
    return c.redirect("/login", 303);
  });

  const redirectUri = (c: Context): string => `${baseUrl(c, d.publicUrl)}/oidc/callback`;

  app.get("/oidc/start", async (c) => {
    if (!d.oidc) return c.notFound();
    const next = safeNext(c.req.query("next"));
    try {
      const { url, pending } = await d.oidc.start(redirectUri(c), next);
      setCookie(c, OIDC_COOKIE, d.signer.seal("oidc", pending), cookieOptions(c, d.publicUrl, 600));
      return c.redirect(url, 302);
    } catch (e) {
      d.log.error("oidc start failed", errorFields(e));
      return render(c, next, "The identity provider is not reachable right now.", 502);
    }
  });

  app.get("/oidc/callback", async (c) => {
    if (!d.oidc) return c.notFound();
    const pending = PendingLoginSchema.safeParse(d.signer.open("oidc", getCookie(c, OIDC_COOKIE)));
    deleteCookie(c, OIDC_COOKIE, cookieOptions(c, d.publicUrl));
    const state = c.req.query("state") ?? "";
    const code = c.req.query("code");
    if (!pending.success || pending.data.exp < Date.now() / 1000 || !safeEqual(state, pending.data.state)) {
      return render(c, "/", "The sign-in attempt expired or did not start here; try again.", 401);
    }
    const next = pending.data.next;
    const providerError = c.req.query("error");
    if (providerError || !code) return render(c, next, `The identity provider refused the sign-in (${providerError ?? "no code"}).`, 401);
    try {
      const id = await d.oidc.finish(code, redirectUri(c), pending.data);
      return startSession(c, id.name, id.role, next);
    } catch (e) {
      d.log.warn("oidc login failed", errorFields(e));
      if (e instanceof ForbiddenError) return render(c, next, e.message, 403);
      if (e instanceof UnauthorizedError) return render(c, next, e.message, 401);
      return render(c, next, "The identity provider could not complete the sign-in.", 502);
    }
  });

  return app;
}
