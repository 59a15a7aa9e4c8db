// Page-test harness: the real auth (admin token + OIDC against the fake provider, one user per role) around createUi.
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Hono } from "hono";
import { createAuth } from "../../../platform/auth/index.ts";
import type { Role } from "../../../platform/auth/roles.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { createUi } from "../../../pages/index.tsx";
import { startFakeOidc } from "../../support/fake-oidc/index.ts";
import type { FakeOidc } from "../../support/fake-oidc/index.ts";
import { Jar } from "../auth/harness.ts";
import { makeFakes } from "./fakes.ts";
import type { Fakes } from "./fakes.ts";

export const ADMIN_TOKEN = "admin-token-0123456789abcdef";

export class Session {
  constructor(
    readonly app: Hono,
    readonly jar: Jar,
    public csrf: string,
  ) {}

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const res = await this.app.request(url, { headers: { cookie: this.jar.header(), accept: "text/html", ...headers } });
    this.jar.take(res);
    return res;
  }

  /** A form POST like a browser sends it (CSRF token included unless `csrf: false`). */
  async post(url: string, fields: Record<string, string> | [string, string][], o: { htmx?: boolean; csrf?: boolean | string } = {}): Promise<Response> {
    const body = new URLSearchParams(fields);
    if (o.csrf !== false) body.set("_csrf", typeof o.csrf === "string" ? o.csrf : this.csrf);
    const headers: Record<string, string> = { cookie: this.jar.header(), "content-type": "application/x-www-form-urlencoded", origin: "http://localhost", accept: "text/html" };
    if (o.htmx) headers["hx-request"] = "true";
    const res = await this.app.request(url, { method: "POST", headers, body: body.toString() });
    this.jar.take(res);
    return res;
  }
}

export interface UiHarness {
  readonly app: Hono;
  readonly fakes: Fakes;
  as(role: Role | "admin"): Promise<Session>;
  anonymous(): Session;
  close(): Promise<void>;
}

const USERS = [
  { sub: "u-viewer", preferred_username: "vera", claims: { groups: ["readers"] } },
  { sub: "u-data-scientist", preferred_username: "dana", claims: { groups: ["ds"] } },
  { sub: "u-mlops-engineer", preferred_username: "mo", claims: { groups: ["platform"] } },
];

export async function uiHarness(opts: Parameters<typeof makeFakes>[0] = {}): Promise<UiHarness> {
  const idp: FakeOidc = await startFakeOidc({ clientId: "flywheel", users: USERS });
  const config = parseConfig({
    FLYWHEEL_DATA_DIR: await mkdtemp(path.join(os.tmpdir(), "fw-ui-")),
    FLYWHEEL_AUTH_TOKEN: ADMIN_TOKEN,
    FLYWHEEL_OIDC_ISSUER: idp.issuer,
    FLYWHEEL_OIDC_CLIENT_ID: "flywheel",
    FLYWHEEL_OIDC_ROLE_MAP: "readers=viewer,ds=data-scientist,platform=mlops-engineer",
  });
  const auth = await createAuth({ config, log: createLogger("silent") });
  const fakes = makeFakes(opts);
  fakes.deps = { ...fakes.deps, auth };
  const app = new Hono();
  app.use(auth.middleware);
  app.route("/", auth.routes);
  app.route("/", createUi(fakes.deps));

  const csrfFrom = async (s: Session): Promise<string> => {
    const html = await (await s.get("/login")).text();
    return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  };

  return {
    app,
    fakes,
    anonymous: () => new Session(app, new Jar(), ""),
    as: async (role) => {
      const s = new Session(app, new Jar(), "");
      s.csrf = await csrfFrom(s);
      if (role === "admin") {
        await s.post("/login", { token: ADMIN_TOKEN, next: "/" });
      } else {
        const start = await s.get("/oidc/start");
        const authorize = new URL(start.headers.get("location") ?? "");
        authorize.searchParams.set("login_hint", `u-${role}`);
        const back = new URL((await fetch(authorize, { redirect: "manual" })).headers.get("location") ?? "");
        const cb = await s.get(back.pathname + back.search);
        if (cb.status !== 303) throw new Error(`login as ${role} failed: ${cb.status}`);
      }
      return s;
    },
    close: () => idp.close(),
  };
}

/** Text content of the element with this id (first match; no nesting of the same tag). */
export function byId(html: string, id: string): string | undefined {
  const m = new RegExp(`<(\\w+)[^>]*\\sid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  return m?.[2];
}

/** Field error messages rendered for a form field. */
export function fieldErrors(html: string, field: string): string[] {
  return [...html.matchAll(new RegExp(`<p class="field-error" data-field="${field.replace(/\./g, "\\.")}">([^<]*)</p>`, "g"))].map((m) => unescapeHtml(m[1] ?? ""));
}

export function unescapeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
