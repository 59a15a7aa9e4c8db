// The web UI: createUi(deps) returns a hono app the platform mounts at "/" (after auth.middleware and auth.routes).
import { Hono } from "hono";
import { errorFields } from "../platform/log.ts";
import { isKnownError } from "../platform/errors.ts";
import { airflowRoutes } from "./airflow/routes.tsx";
import type { UiDeps } from "./deps.ts";
import { deploymentRoutes } from "./deployments/routes.tsx";
import { eventRoutes } from "./events/routes.tsx";
import { homeRoutes } from "./home/routes.tsx";
import { isHtmx, page, pageContext } from "./layout.tsx";
import { playgroundRoutes } from "./playground/routes.tsx";
import { modelRoutes } from "./registry/models.tsx";
import { registryRoutes } from "./registry/runs.tsx";
import { staticRoutes } from "./static.ts";
import { trainingRoutes } from "./training/routes.tsx";

export type * from "./deps.ts";

export function createUi(deps: UiDeps): Hono {
  const airflow = Boolean(deps.config.links.airflow);
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    // Pages are per-user and carry CSRF tokens: never cache them; never let them be framed.
    if (c.res.headers.get("content-type")?.startsWith("text/html")) {
      c.res.headers.set("cache-control", "no-store");
      c.res.headers.set("x-frame-options", "DENY");
      c.res.headers.set("x-content-type-options", "nosniff");
      c.res.headers.set("referrer-policy", "same-origin");
    }
  });
  app.route("/", staticRoutes());
  app.route("/", homeRoutes(deps, airflow));
  app.route("/", trainingRoutes(deps, airflow));
  app.route("/", registryRoutes(deps, airflow));
  app.route("/", modelRoutes(deps, airflow));
  app.route("/", deploymentRoutes(deps, airflow));
  app.route("/", playgroundRoutes(deps, airflow));
  app.route("/", eventRoutes(deps, airflow));
  app.route("/", airflowRoutes(deps));
  app.onError((e, c) => {
    // Known errors carry safe messages (e.g. a registry 404); anything else is logged and shown generically.
    const status = isKnownError(e) && (e.status === 400 || e.status === 404 || e.status === 409) ? e.status : 502;
    if (!isKnownError(e)) deps.log.error("ui page failed", { path: c.req.path, ...errorFields(e) });
    const message = isKnownError(e) ? e.message : "Something went wrong rendering this page.";
    // An htmx request swaps the answer into a part of the page: send only the message, not a whole page.
    if (isHtmx(c)) return c.html(<p class="error" role="alert">{message}</p>, status);
    return page(c, pageContext(c, airflow), "Error", "home", <><h1>{status === 404 ? "Not found" : "Error"}</h1><p class="error" role="alert">{message}</p></>, { status });
  });
  return app;
}
