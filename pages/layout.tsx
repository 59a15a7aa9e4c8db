// The page shell (navigation, user, logout) and the full-page-vs-fragment rule for htmx requests.
import type { Context } from "hono";
import type { Child, FC } from "hono/jsx";
import { csrfTokenOf, principalOf } from "../platform/auth/index.ts";
import type { Principal } from "../platform/auth/roles.ts";

/**
 * htmx swaps every answer into its target, errors included: a 4xx/5xx fragment says what went wrong where the user
 * looked (htmx's default drops them silently). flywheel.js shows network failures and bodiless errors in #htmx-error.
 */
const HTMX_CONFIG = JSON.stringify({
  responseHandling: [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },
    { code: "[45]..", swap: true, error: true },
  ],
});

export const NAV = [
  { href: "/", label: "Home", area: "home" },
  { href: "/training", label: "Training", area: "training" },
  { href: "/training/jobs", label: "Jobs", area: "jobs" },
  { href: "/registry", label: "Experiments", area: "registry" },
  { href: "/models", label: "Models", area: "models" },
  { href: "/deployments", label: "Deployments", area: "deployments" },
  { href: "/playground", label: "Playground", area: "playground" },
  { href: "/activity", label: "Events & drift", area: "events" },
  { href: "/airflow", label: "Airflow", area: "airflow" },
] as const;
export type Area = (typeof NAV)[number]["area"];

interface LayoutProps {
  readonly title: string;
  readonly area: Area;
  readonly principal: Principal | undefined;
  readonly csrf: string;
  readonly airflow: boolean;
  /** Reload the page every N seconds when scripts are off (live pages). */
  readonly refreshWithoutJs?: number | undefined;
  /** Reload the page every N seconds whatever the browser (a short wait for something to appear). */
  readonly refreshAlways?: number | undefined;
  readonly children?: Child;
}

export const Layout: FC<LayoutProps> = (p) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="csrf-token" content={p.csrf} />
      <meta name="htmx-config" content={HTMX_CONFIG} />
      <title>{p.title} · Flywheel</title>
      <link rel="stylesheet" href="/static/flywheel.css" />
      <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
      <script src="/static/htmx.min.js" defer></script>
      <script src="/static/flywheel.js" defer></script>
      {p.refreshAlways ? <meta http-equiv="refresh" content={String(p.refreshAlways)} /> : null}
      {p.refreshWithoutJs ? (
        <noscript>
          <meta http-equiv="refresh" content={String(p.refreshWithoutJs)} />
        </noscript>
      ) : null}
    </head>
    <body hx-headers={JSON.stringify({ "X-CSRF-Token": p.csrf })}>
      <header class="top">
        <a class="brand" href="/">
          Flywheel
        </a>
        <nav>
          {NAV.filter((n) => n.area !== "airflow" || p.airflow).map((n) => (
            <a href={n.href} class={n.area === p.area ? "active" : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        {p.principal ? (
          <div class="who">
            <span>
              {p.principal.name} <span class="badge">{p.principal.role}</span>
            </span>
            {p.principal.via === "session" ? (
              <form method="post" action="/logout">
                <input type="hidden" name="_csrf" value={p.csrf} />
                <button type="submit">Sign out</button>
              </form>
            ) : null}
          </div>
        ) : null}
      </header>
      <main class="page" id="main">
        <div id="htmx-error" class="errors" role="alert" hidden></div>
        {p.children}
      </main>
    </body>
  </html>
);

export interface PageContext {
  readonly principal: Principal | undefined;
  readonly csrf: string;
  readonly airflow: boolean;
}

/** Render a full page. */
export function page(
  c: Context,
  ctx: PageContext,
  title: string,
  area: Area,
  body: Child,
  opts: { status?: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 502; refreshWithoutJs?: number | undefined; refreshAlways?: number | undefined } = {},
): Response | Promise<Response> {
  return c.html(
    <Layout title={title} area={area} principal={ctx.principal} csrf={ctx.csrf} airflow={ctx.airflow} refreshWithoutJs={opts.refreshWithoutJs} refreshAlways={opts.refreshAlways}>
      {body}
    </Layout>,
    opts.status ?? 200,
  );
}

/** Fragment for htmx requests, the whole page otherwise (progressive enhancement). */
export function pageOrFragment(
  c: Context,
  ctx: PageContext,
  title: string,
  area: Area,
  body: Child,
  opts: { status?: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 502; refreshWithoutJs?: number } = {},
): Response | Promise<Response> {
  if (isHtmx(c)) return c.html(<>{body}</>, opts.status ?? 200);
  return page(c, ctx, title, area, body, opts);
}

export const isHtmx = (c: Context): boolean => c.req.header("hx-request") === "true" && c.req.header("hx-boosted") !== "true";

/** Navigate after a successful mutation: HX-Redirect for htmx, 303 See Other for plain forms. */
export function navigate(c: Context, to: string): Response {
  if (isHtmx(c)) {
    c.header("HX-Redirect", to);
    return c.body(null, 204);
  }
  return c.redirect(to, 303);
}

export function pageContext(c: Context, airflow: boolean): PageContext {
  return { principal: principalOf(c), csrf: csrfTokenOf(c), airflow };
}
