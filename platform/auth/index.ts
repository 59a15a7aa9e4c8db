// Authentication and authorisation for the API and the UI: admin token, signed sessions, OIDC, roles, CSRF.
import type { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Config } from "../config/index.ts";
import type { Logger } from "../log.ts";
import { isApiCaller, cookieOptions } from "./http.ts";
import { OidcClient } from "./oidc.ts";
import type { FetchFn } from "./oidc.ts";
import { roleAtLeast } from "./roles.ts";
import type { Principal, Role } from "./roles.ts";
import { JOB_TOKEN_PREFIX, JobTokens } from "./job-tokens.ts";
import { loadOrCreateSecret, randomToken, safeEqual } from "./secrets.ts";
import { CSRF_COOKIE, SESSION_COOKIE, Signer, type SessionRevocations } from "./session.ts";
import { trustedProxyList } from "./proxies.ts";
import { authRoutes } from "./routes.tsx";
import { csrfTokenOf, setCsrfMinter } from "./csrf-token.ts";

export { csrfTokenOf };

export { ROLES, isRole, roleAtLeast } from "./roles.ts";
export type { Role, Principal } from "./roles.ts";
export { JOB_TOKEN_PREFIX, JOB_TOKEN_SCOPE, JobTokens } from "./job-tokens.ts";
export type { SessionRevocations } from "./session.ts";

export interface AuthVariables {
  principal: Principal | undefined;
}
export interface AuthEnv {
  Variables: AuthVariables;
}

export interface Auth {
  /** The admin token in force; undefined only in dev mode without FLYWHEEL_AUTH_TOKEN. */
  readonly token: string | undefined;
  /** True when this start generated (and stored) the token: print it once, then never again. */
  readonly generated: boolean;
  readonly devMode: boolean;
  /** Resolves the caller (bearer token, basic auth with the token as password, OIDC JWT, or session). Never rejects. */
  readonly middleware: MiddlewareHandler;
  /** 401 when anonymous (JSON for programs, redirect to /login for browsers), 403 when the role is too low. */
  requireRole(role: Role): MiddlewareHandler;
  /** CSRF check on unsafe methods for cookie-authenticated callers; bearer-token callers are exempt. */
  readonly csrf: MiddlewareHandler;
  /** /login (GET, POST), /logout (POST), /oidc/start, /oidc/callback. Mount at "/". */
  readonly routes: Hono;
  /** Per-job registry tokens, resolved by `middleware` as principals with via "job". */
  readonly jobTokens: JobTokens;
}

export interface CreateAuthOptions {
  readonly config: Config;
  readonly dataDir?: string | undefined;
  readonly log: Logger;
  /** Used for OIDC discovery and the token exchange (JWKS uses the global fetch). */
  readonly fetch?: FetchFn | undefined;
  readonly now?: (() => number) | undefined;
  /** Logouts shared by every replica (Knative: the StateStore); default: this process only. */
  readonly revocations?: SessionRevocations | undefined;
}

const principals = new WeakMap<Request, Principal>();

/** The caller resolved by `auth.middleware`, usable from any handler whatever its Env typing. */
export function principalOf(c: Context): Principal | undefined {
  return principals.get(c.req.raw);
}

export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-csrf-token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function createAuth(opts: CreateAuthOptions): Promise<Auth> {
  const { config, log } = opts;
  const dataDir = opts.dataDir ?? config.dataDir;
  const devMode = config.auth.devMode;
  let token = config.auth.token;
  let generated = false;
  if (!token && !devMode) {
    const s = await loadOrCreateSecret(dataDir, "auth-token", () => randomToken(24));
    token = s.value;
    generated = s.created;
  }
  // Knative: FLYWHEEL_SESSION_KEY (a Secret every UI replica mounts); embedded: a key kept in the data dir.
  const sessionKey = config.auth.sessionKey ?? (await loadOrCreateSecret(dataDir, "session-key", () => randomToken(32))).value;
  const signer = new Signer(sessionKey, opts.revocations);
  const oidc = config.auth.oidc ? new OidcClient(config.auth.oidc, opts.fetch) : undefined;
  const publicUrl = config.publicUrl;
  const jobTokens = new JobTokens(opts.now);
  const jobPrincipal = (presented: string): Principal | undefined => {
    const grant = jobTokens.resolve(presented);
    // data-scientist is what logging runs and registering versions needs; the scope check narrows it to /api/2.0.
    return grant ? { name: `job:${grant.jobId}`, role: "data-scientist", via: "job" } : undefined;
  };

  const resolveBearer = async (header: string): Promise<Principal | undefined> => {
    const [scheme, value] = [header.slice(0, header.indexOf(" ")).toLowerCase(), header.slice(header.indexOf(" ") + 1).trim()];
    if (scheme === "bearer") {
      if (token && safeEqual(value, token)) return { name: "admin", role: "mlops-engineer", via: "token" };
      if (value.startsWith(JOB_TOKEN_PREFIX)) return jobPrincipal(value);
      if (oidc && value.split(".").length === 3) {
        try {
          const id = oidc.identity(await oidc.verify(value));
          return { ...id, via: "oidc-bearer" };
        } catch {
          return undefined;
        }
      }
      return undefined;
    }
    if (scheme === "basic" && token) {
      // MLflow clients send MLFLOW_TRACKING_USERNAME/PASSWORD as basic auth: the password is the admin token.
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const password = decoded.slice(decoded.indexOf(":") + 1);
      if (decoded.includes(":") && safeEqual(password, token)) return { name: "admin", role: "mlops-engineer", via: "token" };
      if (decoded.includes(":") && password.startsWith(JOB_TOKEN_PREFIX)) return jobPrincipal(password);
    }
    return undefined;
  };

  // One minter for every cookie caller (it reads all it needs from the context): no closure per request.
  const mintCsrf = (cx: Context): string => {
    let csrfCookie = getCookie(cx, CSRF_COOKIE);
    if (!csrfCookie || csrfCookie.length < 16) {
      csrfCookie = randomToken(18);
      setCookie(cx, CSRF_COOKIE, csrfCookie, cookieOptions(cx, publicUrl));
    }
    return signer.csrfToken(csrfCookie);
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    let principal: Principal | undefined;
    const authz = c.req.header("authorization");
    if (devMode) principal = { name: "developer", role: "mlops-engineer", via: "dev" };
    else if (authz) principal = await resolveBearer(authz);
    else {
      const s = signer.readSession(getCookie(c, SESSION_COOKIE));
      if (s && !(await signer.revokedElsewhere(s))) principal = { name: s.name, role: s.role, via: "session" };
    }
    if (principal) principals.set(c.req.raw, principal);
    c.set("principal", principal);
    if (!authz) setCsrfMinter(c.req.raw, mintCsrf);
    await next();
  };

  const deny = (c: Context, status: 401 | 403, message: string): Response => {
    if (isApiCaller(c)) {
      if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="flywheel"');
      return c.json({ error: message, code: status === 401 ? "UNAUTHENTICATED" : "PERMISSION_DENIED" }, status);
    }
    if (status === 401) {
      const next = c.req.method === "GET" ? c.req.path + new URL(c.req.url).search : "/";
      const to = `/login?next=${encodeURIComponent(next)}`;
      if (c.req.header("hx-request")) {
        c.header("HX-Redirect", to);
        return c.body(null, 401);
      }
      return c.redirect(to, 302);
    }
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Forbidden · Flywheel</title>` +
        `<link rel="stylesheet" href="/static/flywheel.css"></head><body><main class="page"><h1>Forbidden</h1>` +
        `<p class="error" role="alert">${escapeHtml(message)}</p><p><a href="/">Home</a></p></main></body></html>`,
      403,
    );
  };

  const requireRole = (role: Role): MiddlewareHandler => async (c, next) => {
    const p = principalOf(c);
    if (!p) return deny(c, 401, "authentication required");
    if (!roleAtLeast(p.role, role)) return deny(c, 403, `this needs the ${role} role; you are ${p.role}`);
    await next();
    return undefined;
  };

  const csrf: MiddlewareHandler = async (c, next) => {
    if (!UNSAFE.has(c.req.method)) return next();
    const p = principalOf(c);
    if (p && (p.via === "token" || p.via === "oidc-bearer" || p.via === "job")) return next();
    // Forged cross-site requests come from browsers, which always send Origin or Sec-Fetch-Site (and cookies) on
    // POST. A program with none of these (the CLI in dev mode) cannot be a CSRF vector.
    if (!c.req.header("origin") && !c.req.header("sec-fetch-site") && !c.req.header("cookie")) return next();
    let submitted = c.req.header(CSRF_HEADER);
    const type = c.req.header("content-type") ?? "";
    if (!submitted && (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data"))) {
      const body = await c.req.parseBody(); // hono caches the parsed body, so handlers can read it again
      const v = body[CSRF_FIELD];
      if (typeof v === "string") submitted = v;
    }
    if (!signer.checkCsrf(getCookie(c, CSRF_COOKIE), submitted)) {
      log.warn("csrf check failed", { path: c.req.path, method: c.req.method });
      return deny(c, 403, "the form's CSRF token is missing or invalid; reload the page and try again");
    }
    return next();
  };

  const routes = authRoutes({
    token,
    devMode,
    signer,
    oidc,
    publicUrl,
    trustedProxies: trustedProxyList(config.auth.trustedProxies).list,
    log,
    csrf,
    clearSession: (c) => deleteCookie(c, SESSION_COOKIE, cookieOptions(c, publicUrl)),
  });

  return { token, generated, devMode, middleware, requireRole, csrf, routes, jobTokens };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
