// Home: health of each component, links to the outside UIs that are configured, the last events.
import { Hono } from "hono";
import type { UiDeps } from "../deps.ts";
import { EventsTable } from "../events/routes.tsx";
import { page, pageContext } from "../layout.tsx";
import { probeOutside } from "./probes.ts";


export function homeRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  app.get("/", deps.auth.requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const [health, events, outside] = await Promise.all([
      deps.health.check().catch(() => []),
      deps.events.recentEvents({ limit: 15, offset: 0 }).catch(() => []),
      probeOutside(deps),
    ]);
    const links = deps.config.links;
    return page(c, ctx, "Home", "home", <>
      <h1>Flywheel</h1>
      <h2>Components</h2>
      <div class="grid" id="health">
        {health.map((h) => (
          <div class="card" data-component={h.name}>
            <strong class={h.ok ? "health-ok" : "health-bad"}>{h.name}</strong>
            <div class="muted">{h.ok ? "ready" : h.detail ?? "not ready"}</div>
          </div>
        ))}
        {outside.map((o) => (
          <div class="card" data-component={o.key}>
            <strong class={o.ok === undefined ? "health-off" : o.ok ? "health-ok" : "health-bad"}>{o.label}</strong>
            <div class="muted">{o.url ? <a href={o.url} rel="noopener">{o.detail}</a> : o.detail}</div>
          </div>
        ))}
      </div>
      <h2>Outside UIs</h2>
      <ul id="links">
        {outside.filter((o) => o.url).map((o) => <li><a href={o.url} rel="noopener">{o.label}</a> <span class="muted mono">{o.url}</span></li>)}
      </ul>
      <h2>Last events</h2>
      <EventsTable events={events} tracing={links.tracing} />
      <p><a href="/activity">All events, dead letters and drift →</a></p>
    </>);
  });
  return app;
}
