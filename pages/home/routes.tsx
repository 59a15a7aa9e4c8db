// Home: health of each component, links to the outside UIs that are configured, the last events.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import type { UiDeps } from "../deps.ts";
import { EventsTable } from "../events/routes.tsx";
import { page, pageContext } from "../layout.tsx";
import { probeOutside } from "./probes.ts";


export function homeRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  app.get("/", deps.auth.requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const [health, events, outside, jobs, models, deployments] = await Promise.all([
      deps.health.check().catch(() => []),
      deps.events.recentEvents({ limit: 15, offset: 0 }).catch(() => []),
      probeOutside(deps),
      deps.training.list({ limit: 1 }).catch(() => []),
      deps.registry.searchRegisteredModels({ maxResults: 1 }).then((p) => p.items).catch(() => []),
      deps.serving.list().catch(() => []),
    ]);
    const links = deps.config.links;
    const done = { trained: jobs.length > 0, registered: models.length > 0, deployed: deployments.length > 0 };
    return page(c, ctx, "Home", "home", <>
      <h1>Flywheel</h1>
      <p class="lead">Train a model, let the evaluation gate register and promote it, serve it, and retrain it when its inputs drift.</p>
      {done.trained && done.registered && done.deployed ? null : <FirstSteps done={done} />}
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
      {outside.some((o) => o.url) ? (
        <ul id="links">
          {outside.filter((o) => o.url).map((o) => <li><a href={o.url} rel="noopener">{o.label}</a> <span class="muted mono">{o.url}</span></li>)}
        </ul>
      ) : (
        // An empty heading read as a broken page: say what would appear here and how.
        <p class="muted" id="links">
          None linked. Set FLYWHEEL_MLFLOW_UI_URL, FLYWHEEL_GRAFANA_URL, FLYWHEEL_PROMETHEUS_URL, FLYWHEEL_ALERTMANAGER_URL, FLYWHEEL_AIRFLOW_URL or FLYWHEEL_TRACING_UI_URL and each appears here as a link.
        </p>
      )}
      <h2>Last events</h2>
      <EventsTable events={events} tracing={links.tracing} />
      <p><a href="/activity">All events, dead letters and drift →</a></p>
    </>);
  });
  return app;
}

/** The loop in three steps, each ticked once it has happened here; shown until all three have. */
const FirstSteps: FC<{ done: { trained: boolean; registered: boolean; deployed: boolean } }> = ({ done }) => (
  <section id="first-steps" aria-labelledby="first-steps-h">
    <h2 id="first-steps-h">Get started</h2>
    <ol class="steps">
      <li class={done.trained ? "done" : undefined}>
        <strong>Train a model.</strong> <a href="/training?example=iris-node" id="start-example">Launch the Iris example</a>: it needs no Python and takes a few seconds.
        <span class="muted"> Or run the whole loop from a shell: <code>npm run demo</code>.</span>
      </li>
      <li class={done.registered ? "done" : undefined}>
        <strong>Check the new version.</strong> When the job succeeds, its model appears under <a href="/models">Models</a> with the gate's verdict.
      </li>
      <li class={done.deployed ? "done" : undefined}>
        <strong>Serve and try it.</strong> A version that passes the gate is deployed automatically; <a href="/deployments/new">deploy one yourself</a> or open the <a href="/playground">playground</a>.
      </li>
    </ol>
  </section>
);
