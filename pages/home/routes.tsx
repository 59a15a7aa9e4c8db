// Home: health of each component, links to the outside UIs that are configured, the last events.
import { Hono } from "hono";
import type { UiDeps } from "../deps.ts";
import { EventsTable } from "../events/routes.tsx";
import { page, pageContext } from "../layout.tsx";

const OUTSIDE = [
  ["prometheus", "Prometheus"],
  ["alertmanager", "Alertmanager"],
  ["airflow", "Airflow"],
  ["mlflow", "MLflow"],
  ["grafana", "Grafana"],
  ["tracing", "Tracing"],
] as const;

export function homeRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  app.get("/", deps.auth.requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const [health, events] = await Promise.all([
      deps.health.check().catch(() => []),
      deps.events.recentEvents({ limit: 15, offset: 0 }).catch(() => []),
    ]);
    const links = deps.config.links;
    const checked = new Set(health.map((h) => h.name.toLowerCase()));
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
        {OUTSIDE.filter(([k]) => !checked.has(k)).map(([k, label]) => (
          <div class="card" data-component={k}>
            <strong class={links[k] ? "health-ok" : "health-off"}>{label}</strong>
            <div class="muted">{links[k] ? <a href={links[k]} rel="noopener">open {label}</a> : "not configured"}</div>
          </div>
        ))}
      </div>
      <h2>Outside UIs</h2>
      <ul id="links">
        {OUTSIDE.filter(([k]) => links[k]).map(([k, label]) => <li><a href={links[k]} rel="noopener">{label}</a> <span class="muted mono">{links[k]}</span></li>)}
      </ul>
      <h2>Last events</h2>
      <EventsTable events={events} tracing={links.tracing} />
      <p><a href="/activity">All events, dead letters and drift →</a></p>
    </>);
  });
  return app;
}
