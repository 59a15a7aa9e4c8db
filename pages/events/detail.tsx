// One event: its payload, its CloudEvents attributes and its trace (a link to the tracing UI when configured, and the
// other kept events of the same trace).
import { Hono } from "hono";
import { KeyValues, fmtTime } from "../components.tsx";
import type { UiDeps, UiStoredEvent } from "../deps.ts";
import { page, pageContext } from "../layout.tsx";
import { EventsTable, shortType, traceId } from "./routes.tsx";

const SCAN_PAGE = 500;
const SCAN_MAX = 5000;

async function findEvent(deps: UiDeps, id: string): Promise<UiStoredEvent | undefined> {
  if (deps.events.getEvent) return deps.events.getEvent(id);
  for (let offset = 0; offset < SCAN_MAX; offset += SCAN_PAGE) {
    const batch = await deps.events.recentEvents({ limit: SCAN_PAGE, offset });
    const hit = batch.find((e) => e.id === id);
    if (hit || batch.length < SCAN_PAGE) return hit;
  }
  return undefined;
}

export function eventDetailRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  app.get("/activity/events/:id", deps.auth.requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const id = c.req.param("id");
    const e = await findEvent(deps, id);
    if (!e) return page(c, ctx, "Event not found", "events", <><h1>Event not found</h1><p class="error" role="alert">No kept event has id {id}; the oldest events are dropped as new ones arrive.</p></>, { status: 404 });
    const trace = traceId(e.event.traceparent);
    const tracing = deps.config.links.tracing;
    const sameTrace = trace ? (await deps.events.recentEvents({ limit: SCAN_PAGE, offset: 0 })).filter((x) => x.id !== e.id && traceId(x.event.traceparent) === trace) : [];
    const { data, ...attributes } = e.event;
    return page(c, ctx, `Event ${shortType(e.type)}`, "events", <>
      <p class="crumbs"><a href="/activity">Events</a> › {shortType(e.type)}</p>
      <h1>{shortType(e.type)} <span class="muted mono">{e.id}</span></h1>
      <div class="two">
        <div class="card">
          <KeyValues entries={[
            ["Received", fmtTime(e.receivedAt)],
            ["Type", <span class="mono">{e.type}</span>],
            ["Source", <span class="mono">{e.source}</span>],
            ["Subject", e.subject ?? "—"],
            ["Trace", trace ? (tracing ? <a class="mono" href={`${tracing.replace(/\/$/, "")}/trace/${trace}`} id="trace-link">{trace}</a> : <span class="mono" id="trace-link">{trace}</span>) : "—"],
          ]} />
          {trace && !tracing ? <p class="muted">Set FLYWHEEL_TRACING_UI_URL to open traces in Jaeger or Tempo.</p> : null}
          <h2>Attributes</h2>
          <pre tabindex={0}>{JSON.stringify(attributes, null, 2)}</pre>
        </div>
        <div class="card">
          <h2>Payload</h2>
          <pre id="event-payload" tabindex={0}>{JSON.stringify(data ?? null, null, 2)}</pre>
        </div>
      </div>
      {trace ? <><h2>Other events of this trace</h2><EventsTable events={sameTrace} tracing={tracing} /></> : null}
    </>);
  });
  return app;
}
