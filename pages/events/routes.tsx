// Events and drift: recent CloudEvents with trace links, the dead-letter queue (replay, discard), drift, alerts, retrains.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { errorFields } from "../../platform/log.ts";
import { EVENT_NAMES } from "../../platform/events/catalogue.ts";
import { DriftSection } from "./drift.tsx";
import { eventDetailRoutes } from "./detail.tsx";
import { Badge, Csrf, Pager, fmtTime, intParam } from "../components.tsx";
import type { UiDeps, UiStoredEvent } from "../deps.ts";
import { navigate, page, pageContext } from "../layout.tsx";

/** trace id from a W3C traceparent (00-<trace>-<span>-<flags>). */
export function traceId(traceparent: unknown): string | undefined {
  if (typeof traceparent !== "string") return undefined;
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent);
  return m?.[1];
}

const dataOf = (e: UiStoredEvent): Record<string, unknown> => {
  const d = e.event.data;
  return d && typeof d === "object" && !Array.isArray(d) ? Object.fromEntries(Object.entries(d)) : {};
};
const str = (v: unknown): string => (typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v));

export const EventsTable: FC<{ events: readonly UiStoredEvent[]; tracing: string | undefined }> = ({ events, tracing }) => (
  events.length ? (<>
    <div class="scroll"><table id="events">
      <thead><tr><th>Time</th><th>Type</th><th>Source</th><th>Subject</th><th>Id</th>{tracing ? <th>Trace</th> : null}</tr></thead>
      <tbody>
        {events.map((e) => {
          const t = traceId(e.event.traceparent);
          return (
            <tr>
              <td>{fmtTime(e.receivedAt)}</td>
              <td><a href={`/activity/events/${encodeURIComponent(e.id)}`} data-event={e.id}>{shortType(e.type)}</a></td>
              <td class="mono">{e.source}</td>
              <td>{e.subject ?? ""}</td>
              <td><a class="mono" href={`/activity/events/${encodeURIComponent(e.id)}`} title={`Event ${e.id}: payload and trace`}>{e.id.length > 14 ? `${e.id.slice(0, 13)}…` : e.id}</a></td>
              {tracing ? <td>{t ? <a class="mono" href={`${tracing.replace(/\/$/, "")}/trace/${t}`}>{t.slice(0, 12)}…</a> : ""}</td> : null}
            </tr>
          );
        })}
      </tbody>
    </table></div>
    {/* Without a tracing UI a trace column would be ids nobody can open: say once where they are instead. */}
    {tracing ? null : <p class="muted" id="no-tracing">No tracing UI is configured (FLYWHEEL_TRACING_UI_URL), so trace ids are shown on each event's page instead of in a column.</p>}
  </>) : <p class="muted">No events yet.</p>
);

export const shortType = (t: string): string => t.replace(/^dev\.flywheel\./, "");
/** The filter takes what the table shows (training.succeeded) or the full CloudEvents type. */
export const fullType = (t: string | undefined): string | undefined => (t === undefined || t.startsWith("dev.") ? t : `dev.flywheel.${t}`);

export function eventRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;

  app.get("/activity", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const limit = intParam(c.req.query("limit"), 50, 1, 500);
    const offset = intParam(c.req.query("offset"), 0, 0, 10_000_000);
    const typeQ = c.req.query("type")?.trim() || undefined;
    const type = fullType(typeQ);
    const [events, dead, snapshots, alerts, decisions] = await Promise.all([
      deps.events.recentEvents({ limit: limit + 1, offset, type }),
      deps.events.deadLetters({ limit: 100, offset: 0 }),
      deps.drift.snapshots(),
      deps.events.recentEvents({ limit: 20, offset: 0, type: "dev.flywheel.alert.firing" }),
      deps.events.recentEvents({ limit: 20, offset: 0, type: "dev.flywheel.retrain.decided" }),
    ]);
    return page(c, ctx, "Events and drift", "events", <>
      <h1>Events and drift</h1>
      <DriftSection snapshots={snapshots} drift={deps.drift} now={(deps.now ?? Date.now)()} />
      <div class="two">
        <div>
          <h2>Alerts</h2>
          {alerts.length ? <ul>{alerts.map((a) => { const d = dataOf(a); return <li>{fmtTime(a.receivedAt)} <strong>{str(d.alertname)}</strong> {str(d.status)} <span class="muted">{Object.entries(typeof d.labels === "object" && d.labels ? d.labels : {}).map(([k, v]) => `${k}=${str(v)}`).join(" ")}</span></li>; })}</ul> : <p class="muted">No alerts.</p>}
        </div>
        <div>
          <h2>Retrain decisions</h2>
          {decisions.length ? <ul id="retrain-decisions">{decisions.map((e) => { const d = dataOf(e); return <li>{fmtTime(e.receivedAt)} {str(d.model)}: <Badge value={str(d.decision) === "started" ? "ok" : "cancelled"} /> {str(d.decision)} — {str(d.reason)}{d.message ? ` (${str(d.message)})` : ""}</li>; })}</ul> : <p class="muted">No decisions.</p>}
        </div>
      </div>
      <h2>Dead letters</h2>
      {dead.length ? (
        <div class="scroll"><table id="dead-letters">
          <thead><tr><th>Last</th><th>Type</th><th>Event</th><th>Trigger</th><th>Error</th><th>Count</th><th>State</th><th><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {dead.map((d) => (
              <tr>
                <td>{fmtTime(d.lastAt)}</td>
                <td>{shortType(d.type)}</td>
                <td><a class="mono" href={`/activity/events/${encodeURIComponent(d.eventId)}`}>{d.eventId}</a></td>
                <td>{d.trigger ?? ""}</td>
                <td>
                  <strong>{d.errorCode ?? "no answer"}</strong> from <span class="mono">{d.errorDest}</span>
                  {/* The whole body when the subscriber sent one; else the decoded reason the store kept. */}
                  {decodeBody(d.errorData) ?? d.reason ? <pre class="dead-body" tabindex={0}>{decodeBody(d.errorData) ?? d.reason}</pre> : <span class="muted"> (no error body)</span>}
                </td>
                <td class="num">{d.count}</td>
                <td><Badge value={d.state} /></td>
                <td>
                  {d.state === "dead" ? <>
                    <form method="post" action={`/activity/dead-letters/${encodeURIComponent(d.id)}/replay`} style="display:inline"><Csrf token={ctx.csrf} /><button type="submit" class="small">Replay</button></form>{" "}
                    <form method="post" action={`/activity/dead-letters/${encodeURIComponent(d.id)}/discard`} style="display:inline"><Csrf token={ctx.csrf} /><button type="submit" class="small danger" data-confirm="Discard this dead letter?">Discard</button></form>
                  </> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table></div>
      ) : <p class="muted">The dead-letter queue is empty.</p>}
      <h2>Recent events</h2>
      <form method="get" action="/activity" class="row">
        <label>Type <input type="text" name="type" value={typeQ ?? ""} placeholder="training.succeeded" list="event-types" /></label>
        <datalist id="event-types">{EVENT_NAMES.map((n) => <option value={n} />)}</datalist>
        <button type="submit" class="shrink secondary">Filter</button>
      </form>
      <EventsTable events={events.slice(0, limit)} tracing={deps.config.links.tracing} />
      <Pager base="/activity" query={{ type: typeQ }} offset={offset} limit={limit} hasMore={events.length > limit} />
    </>);
  });

  app.route("/", eventDetailRoutes(deps, airflow));
  const act = (): ReturnType<typeof requireRole> => requireRole("mlops-engineer");
  app.post("/activity/dead-letters/:id/replay", csrf, act(), async (c) => {
    try {
      await deps.events.replayDeadLetter(c.req.param("id"));
    } catch (e) {
      deps.log.warn("dead letter replay failed", errorFields(e));
      return c.text("Replay failed; the dead letter is kept.", 502);
    }
    return navigate(c, "/activity");
  });
  app.post("/activity/dead-letters/:id/discard", csrf, act(), async (c) => {
    await deps.events.discardDeadLetter(c.req.param("id"));
    return navigate(c, "/activity");
  });
  return app;
}

/** The subscriber's answer as text (Knative sends it base64-encoded and truncated); undefined when empty. */
export function decodeBody(b64: string | undefined): string | undefined {
  if (!b64) return undefined;
  const text = Buffer.from(b64, "base64").toString("utf8").trim();
  if (!text) return undefined;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
