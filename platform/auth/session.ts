// Signed, expiring session cookies (HMAC-SHA256) with server-side revocation on logout, and signed CSRF tokens.
import { createHmac } from "node:crypto";
import * as z from "zod";
import { ROLES } from "./roles.ts";
import type { Principal } from "./roles.ts";
import { randomToken, safeEqual } from "./secrets.ts";

export const SESSION_COOKIE = "fw_session";
export const CSRF_COOKIE = "fw_csrf";
export const OIDC_COOKIE = "fw_oidc";
export const SESSION_TTL_SECONDS = 12 * 3600;

const SessionSchema = z.object({
  sid: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  exp: z.number(),
});
export type Session = z.infer<typeof SessionSchema>;

/** Where logouts are kept: this process's memory (embedded) or the StateStore, shared by every UI replica. */
export interface SessionRevocations {
  revoke(sid: string, expiresAtS: number): Promise<void>;
  isRevoked(sid: string): Promise<boolean>;
}

export class Signer {
  /** sid -> expiry (epoch s) of sessions ended by logout here; pruned as they expire. */
  private readonly revoked = new Map<string, number>();
  constructor(
    private readonly key: string,
    private readonly shared?: SessionRevocations,
  ) {}

  mac(purpose: string, value: string): string {
    return createHmac("sha256", this.key).update(purpose).update("\0").update(value).digest("base64url");
  }

  /** `payload.mac`, where payload is base64url JSON. */
  seal(purpose: string, data: unknown): string {
    const payload = Buffer.from(JSON.stringify(data)).toString("base64url");
    return `${payload}.${this.mac(purpose, payload)}`;
  }

  open(purpose: string, sealed: string | undefined): unknown {
    if (!sealed) return undefined;
    const dot = sealed.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const payload = sealed.slice(0, dot);
    if (!safeEqual(sealed.slice(dot + 1), this.mac(purpose, payload))) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
  }

  newSession(name: string, role: Principal["role"], nowS = Math.floor(Date.now() / 1000)): { cookie: string; session: Session } {
    const session: Session = { sid: randomToken(16), name, role, exp: nowS + SESSION_TTL_SECONDS };
    return { cookie: this.seal("session", session), session };
  }

  readSession(cookie: string | undefined, nowS = Math.floor(Date.now() / 1000)): Session | undefined {
    // No (valid) cookie is the common case (API callers): no schema parse bound to fail (it showed in the /v2 profile).
    const opened = this.open("session", cookie);
    if (opened === undefined) return undefined;
    const parsed = SessionSchema.safeParse(opened);
    if (!parsed.success) return undefined;
    if (parsed.data.exp <= nowS || this.revoked.has(parsed.data.sid)) return undefined;
    return parsed.data;
  }

  /** Ends the session here and, when shared, for every replica (awaited, so a logout is final when it answers). */
  async revoke(session: Session, nowS = Math.floor(Date.now() / 1000)): Promise<void> {
    for (const [sid, exp] of this.revoked) if (exp <= nowS) this.revoked.delete(sid);
    this.revoked.set(session.sid, session.exp);
    await this.shared?.revoke(session.sid, session.exp);
  }

  /** A valid cookie's session ended by a logout on another replica. */
  async revokedElsewhere(session: Session): Promise<boolean> {
    return this.shared ? this.shared.isRevoked(session.sid) : false;
  }

  /** The CSRF token for a browser: a MAC over its random csrf cookie (signed double-submit). */
  csrfToken(csrfCookie: string): string {
    return this.mac("csrf", csrfCookie);
  }

  checkCsrf(csrfCookie: string | undefined, submitted: string | undefined): boolean {
    if (!csrfCookie || !submitted) return false;
    return safeEqual(submitted, this.csrfToken(csrfCookie));
  }
}
