// Request helpers shared by the auth middleware and routes: TLS detection, cookie options, API-vs-browser callers.
import type { Context } from "hono";
import type { CookieOptions } from "hono/utils/cookie";

export function isSecureRequest(c: Context, publicUrl: string | undefined): boolean {
  if (publicUrl?.startsWith("https:")) return true;
  const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim();
  if (proto) return proto === "https";
  return c.req.url.startsWith("https:");
}

export function cookieOptions(c: Context, publicUrl: string | undefined, maxAge?: number): CookieOptions {
  return {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: isSecureRequest(c, publicUrl),
    ...(maxAge === undefined ? {} : { maxAge }),
  };
}

/** A program (CLI, MLflow client, curl) rather than a browser: it gets JSON errors, never a login redirect. */
export function isApiCaller(c: Context): boolean {
  if (c.req.header("authorization")) return true;
  const p = c.req.path;
  if (p.startsWith("/api/") || p.startsWith("/v2/") || p.startsWith("/infer/") || p === "/events" || p.startsWith("/hooks/")) {
    return true;
  }
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

/** Only same-site relative paths are allowed as post-login targets (no open redirects). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

/** The absolute base URL browsers reach this process at (for the OIDC redirect URI). */
export function baseUrl(c: Context, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/$/, "");
  const url = new URL(c.req.url);
  const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim();
  const host = c.req.header("x-forwarded-host") ?? c.req.header("host") ?? url.host;
  return `${proto ?? url.protocol.replace(":", "")}://${host}`;
}
