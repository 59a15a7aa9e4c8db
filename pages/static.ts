// Static assets served from this process (no CDN: the UI works offline): htmx from its package, our CSS and JS.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono } from "hono";

interface Asset {
  readonly body: string;
  readonly type: string;
}

export function staticRoutes(): Hono {
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>([
    ["htmx.min.js", { body: readFileSync(require.resolve("htmx.org/dist/htmx.min.js"), "utf8"), type: "text/javascript; charset=utf-8" }],
    ["flywheel.css", { body: readFileSync(new URL("./static/flywheel.css", import.meta.url), "utf8"), type: "text/css; charset=utf-8" }],
    ["favicon.svg", { body: readFileSync(new URL("./static/favicon.svg", import.meta.url), "utf8"), type: "image/svg+xml" }],
    ["flywheel.js", { body: readFileSync(new URL("./static/flywheel.js", import.meta.url), "utf8"), type: "text/javascript; charset=utf-8" }],
  ]);
  const app = new Hono();
  app.get("/static/:file", (c) => {
    const a = assets.get(c.req.param("file"));
    if (!a) return c.notFound();
    return c.body(a.body, 200, { "content-type": a.type, "cache-control": "public, max-age=3600", "x-content-type-options": "nosniff" });
  });
  // Browsers ask for /favicon.ico whatever the page links: answer with the same icon.
  app.get("/favicon.ico", (c) => c.redirect("/static/favicon.svg", 301));
  return app;
}
