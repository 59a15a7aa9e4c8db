// A local OIDC provider for tests: discovery, authorize (auto-consent as a chosen user), token with PKCE S256, JWKS.
// It signs real RS256 JWTs with jose, so the client's verification path is the production one.
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { SignJWT, exportJWK, generateKeyPair } from "jose";

export interface FakeUser {
  readonly sub: string;
  readonly preferred_username: string;
  /** Extra claims (e.g. groups, realm_access). */
  readonly claims?: Record<string, unknown>;
}

export interface FakeOidcOptions {
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly users: readonly FakeUser[];
  /** Sign tokens with a different key than the one published (to test signature rejection). */
  readonly signWithUnpublishedKey?: boolean;
  /** Audience to put in ID tokens (defaults to clientId). */
  readonly audience?: string;
}

export interface FakeOidc {
  readonly issuer: string;
  /** The user the next /authorize auto-approves as (or pick per request with login_hint). */
  loginAs(sub: string): void;
  /** Mint an ID token directly (for bearer-token API tests). */
  mint(sub: string, overrides?: Record<string, unknown>, expiresIn?: string): Promise<string>;
  /** Token requests seen, for assertions on PKCE and client auth. */
  readonly tokenRequests: { form: Record<string, string>; authorization: string | undefined }[];
  close(): Promise<void>;
}

interface PendingCode {
  sub: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string | undefined;
}

export async function startFakeOidc(opts: FakeOidcOptions): Promise<FakeOidc> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const other = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const codes = new Map<string, PendingCode>();
  const tokenRequests: FakeOidc["tokenRequests"] = [];
  let current = opts.users[0]?.sub ?? "";
  let issuer = "";

  const mint = async (sub: string, overrides: Record<string, unknown> = {}, expiresIn = "5m"): Promise<string> => {
    const user = opts.users.find((u) => u.sub === sub);
    if (!user) throw new Error(`fake-oidc: unknown user ${sub}`);
    return new SignJWT({ preferred_username: user.preferred_username, ...user.claims, ...overrides })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuer)
      .setSubject(sub)
      .setAudience(opts.audience ?? opts.clientId)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(opts.signWithUnpublishedKey ? other.privateKey : privateKey);
  };

  const app = new Hono();
  app.get("/.well-known/openid-configuration", (c) =>
    c.json({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      id_token_signing_alg_values_supported: ["RS256"],
    }),
  );
  app.get("/jwks", (c) => c.json({ keys: [jwk] }));
  app.get("/authorize", (c) => {
    const q = c.req.query();
    const redirect = q.redirect_uri;
    if (!redirect) return c.json({ error: "invalid_request", error_description: "redirect_uri is required" }, 400);
    const back = new URL(redirect);
    if (q.state) back.searchParams.set("state", q.state);
    if (q.client_id !== opts.clientId) {
      back.searchParams.set("error", "unauthorized_client");
      return c.redirect(back.toString(), 302);
    }
    if (q.response_type !== "code" || q.code_challenge_method !== "S256" || !q.code_challenge) {
      back.searchParams.set("error", "invalid_request");
      return c.redirect(back.toString(), 302);
    }
    const code = randomBytes(16).toString("base64url");
    codes.set(code, { sub: q.login_hint ?? current, clientId: opts.clientId, redirectUri: redirect, challenge: q.code_challenge, nonce: q.nonce });
    back.searchParams.set("code", code);
    return c.redirect(back.toString(), 302);
  });
  app.post("/token", async (c) => {
    const body = await c.req.parseBody();
    const form = Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === "string"));
    const authorization = c.req.header("authorization");
    tokenRequests.push({ form, authorization });
    if (opts.clientSecret) {
      const expected = `Basic ${Buffer.from(`${opts.clientId}:${opts.clientSecret}`).toString("base64")}`;
      if (authorization !== expected) return c.json({ error: "invalid_client" }, 401);
    }
    const pending = form.code ? codes.get(form.code) : undefined;
    if (form.grant_type !== "authorization_code" || !pending) return c.json({ error: "invalid_grant" }, 400);
    codes.delete(form.code ?? ""); // codes are single-use
    if (pending.redirectUri !== form.redirect_uri) return c.json({ error: "invalid_grant", error_description: "redirect_uri mismatch" }, 400);
    const challenge = createHash("sha256").update(form.code_verifier ?? "").digest("base64url");
    if (challenge !== pending.challenge) return c.json({ error: "invalid_grant", error_description: "PKCE verification failed" }, 400);
    const idToken = await mint(pending.sub, pending.nonce ? { nonce: pending.nonce } : {});
    return c.json({ access_token: randomBytes(16).toString("base64url"), token_type: "Bearer", expires_in: 300, id_token: idToken });
  });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const addr = server.address();
  const port = addr && typeof addr === "object" ? (addr satisfies AddressInfo).port : 0;
  issuer = `http://127.0.0.1:${port}`;

  return {
    issuer,
    loginAs: (sub) => {
      current = sub;
    },
    mint,
    tokenRequests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
