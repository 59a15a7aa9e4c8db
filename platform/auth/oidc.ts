// OIDC authorization code + PKCE against any provider: discovery, code exchange, ID token verification, role mapping.
import { createHash } from "node:crypto";
import { createRemoteJWKSet, customFetch, jwtVerify } from "jose";
import type { JWTPayload } from "jose";
import * as z from "zod";
import { UnauthorizedError, ForbiddenError, UpstreamError } from "../errors.ts";
import { nodeFetch } from "../http/fetch.ts";
import { highestRole, isRole } from "./roles.ts";
import type { Role } from "./roles.ts";
import { randomToken } from "./secrets.ts";

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly roleClaim: string;
  readonly roleMap: Readonly<Record<string, string>>;
}

const DiscoverySchema = z.lazy(() =>
  z.object({
    issuer: z.string(),
    authorization_endpoint: z.url(),
    token_endpoint: z.url(),
    jwks_uri: z.url(),
    end_session_endpoint: z.url().optional(),
  }),
);
type Discovery = z.infer<typeof DiscoverySchema>;

const TokenResponseSchema = z.lazy(() => z.object({ id_token: z.string(), access_token: z.string().optional() }));

/** What the login leg keeps (sealed in a short-lived cookie) until the provider redirects back. */
export const PendingLoginSchema = z.lazy(() =>
  z.object({
    state: z.string(),
    nonce: z.string(),
    verifier: z.string(),
    next: z.string(),
    exp: z.number(),
  }),
);
export type PendingLogin = z.infer<typeof PendingLoginSchema>;

export interface OidcIdentity {
  readonly name: string;
  readonly role: Role;
}

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export class OidcClient {
  private discovery: Promise<Discovery> | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(
    private readonly settings: OidcSettings,
    // node:http, not the global fetch: in a cold ui pod a sign-in may be the first request out, and the global fetch's
    // first call loads undici's dispatcher (http/fetch.ts).
    private readonly fetchFn: FetchFn = nodeFetch,
  ) {}

  private discover(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const url = `${this.settings.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
      const res = await this.fetchFn(url, { headers: { accept: "application/json" } });
      if (!res.ok) throw new UpstreamError(`OIDC discovery failed with HTTP ${res.status}`, true);
      const parsed = DiscoverySchema.safeParse(await res.json());
      if (!parsed.success) throw new UpstreamError("OIDC discovery document is invalid", false);
      return parsed.data;
    })().catch((e: unknown) => {
      this.discovery = undefined; // retry discovery on the next login instead of caching a failure
      throw e;
    });
    return this.discovery;
  }

  /** Start a login: the provider URL to redirect to, and what to remember until the callback. */
  async start(redirectUri: string, next: string, nowS = Math.floor(Date.now() / 1000)): Promise<{ url: string; pending: PendingLogin }> {
    const d = await this.discover();
    const pending: PendingLogin = { state: randomToken(16), nonce: randomToken(16), verifier: randomToken(48), next, exp: nowS + 600 };
    const url = new URL(d.authorization_endpoint);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", this.settings.clientId);
    url.searchParams.set("redirect_uri", redirectUri);
    url.searchParams.set("scope", "openid profile email");
    url.searchParams.set("state", pending.state);
    url.searchParams.set("nonce", pending.nonce);
    url.searchParams.set("code_challenge", createHash("sha256").update(pending.verifier).digest("base64url"));
    url.searchParams.set("code_challenge_method", "S256");
    return { url: url.toString(), pending };
  }

  /** Finish a login: exchange the code (with the PKCE verifier), verify the ID token, map its role claim. */
  async finish(code: string, redirectUri: string, pending: PendingLogin): Promise<OidcIdentity> {
    const d = await this.discover();
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: pending.verifier,
      client_id: this.settings.clientId,
    });
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    if (this.settings.clientSecret) {
      const enc = (s: string): string => encodeURIComponent(s);
      headers.authorization = `Basic ${Buffer.from(`${enc(this.settings.clientId)}:${enc(this.settings.clientSecret)}`).toString("base64")}`;
    }
    const res = await this.fetchFn(d.token_endpoint, { method: "POST", headers, body: body.toString() });
    if (!res.ok) throw new UnauthorizedError(`the identity provider refused the login (HTTP ${res.status})`);
    const tokens = TokenResponseSchema.safeParse(await res.json());
    if (!tokens.success) throw new UpstreamError("token response has no id_token", false);
    const claims = await this.verify(tokens.data.id_token);
    if (claims.nonce !== pending.nonce) throw new UnauthorizedError("ID token nonce does not match the login");
    return this.identity(claims);
  }

  /** Verify a JWT (ID token, or a bearer token for the API) signed by the provider for this client. */
  async verify(jwt: string): Promise<JWTPayload> {
    const d = await this.discover();
    this.jwks ??= createRemoteJWKSet(new URL(d.jwks_uri), { [customFetch]: (url, init) => this.fetchFn(url, init) });
    try {
      const { payload } = await jwtVerify(jwt, this.jwks, { issuer: d.issuer, audience: this.settings.clientId });
      return payload;
    } catch {
      throw new UnauthorizedError("token signature, issuer, audience or expiry is invalid");
    }
  }

  /** Map claims to a principal. A user whose claim maps to no role is refused rather than given a default role. */
  identity(claims: JWTPayload): OidcIdentity {
    const values = claimValues(claims, this.settings.roleClaim);
    const roles: Role[] = [];
    for (const v of values) {
      const mapped = this.settings.roleMap[v];
      if (isRole(mapped)) roles.push(mapped);
      else if (isRole(v)) roles.push(v);
    }
    const role = highestRole(roles);
    const name = firstString(claims, ["preferred_username", "email", "name", "sub"]) ?? "unknown";
    if (!role) throw new ForbiddenError(`no Flywheel role is mapped for ${name} (claim "${this.settings.roleClaim}")`);
    return { name, role };
  }
}

/** Values of a claim given as a dotted path (e.g. "realm_access.roles"): a string or an array of strings. */
export function claimValues(claims: JWTPayload, claimPath: string): string[] {
  let cur: unknown = claims;
  for (const part of claimPath.split(".")) {
    if (cur && typeof cur === "object" && part in cur) cur = Reflect.get(cur, part);
    else return [];
  }
  if (typeof cur === "string") return [cur];
  if (Array.isArray(cur)) return cur.filter((v): v is string => typeof v === "string");
  return [];
}

function firstString(claims: JWTPayload, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = claims[k];
    if (typeof v === "string" && v) return v;
  }
  return undefined;
}
