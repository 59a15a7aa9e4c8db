// Airflow pages (when FLYWHEEL_AIRFLOW_URL is set): DAGs, runs, trigger and pause/unpause, all state changes by POST.
import { Hono } from "hono";
import type { Context } from "hono";
import { isKnownError } from "../../platform/errors.ts";
import { Badge, Csrf, Pager, intParam } from "../components.tsx";
import type { UiDeps } from "../deps.ts";
import { readForm } from "../forms.ts";
import { navigate, page, pageContext } from "../layout.tsx";
import { AirflowClient } from "./client.ts";

export function airflowRoutes(deps: UiDeps): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;
  const url = deps.config.links.airflow;
  if (!url) return app;
  const client = new AirflowClient({ url, username: deps.config.airflow.username, password: deps.config.airflow.password, fetch: deps.fetch });
  const failed = (c: Context, e: unknown): Response | Promise<Response> => {
    const msg = isKnownError(e) ? e.message : "Airflow request failed";
    const status = isKnownError(e) && (e.status === 404 || e.status === 409 || e.status === 400) ? e.status : 502;
    return page(c, pageContext(c, true), "Airflow", "airflow", <><h1>Airflow</h1><p class="error" role="alert">{msg}</p><p><a href="/airflow">Back to DAGs</a></p></>, { status });
  };

  app.get("/airflow", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, true);
    const limit = intParam(c.req.query("limit"), 50, 1, 100);
    const offset = intParam(c.req.query("offset"), 0, 0, 1_000_000);
    try {
      const res = await client.listDags(limit, offset);
      return page(c, ctx, "Airflow", "airflow", <>
        <h1>Airflow DAGs</h1>
        <p class="muted">Through Airflow's REST API at <span class="mono">{url}</span>.</p>
        <table id="dags">
          <thead><tr><th>DAG</th><th>State</th><th>Schedule</th><th>Tags</th><th></th></tr></thead>
          <tbody>
            {res.dags.map((d) => (
              <tr data-dag={d.dag_id}>
                <td><a href={`/airflow/dags/${encodeURIComponent(d.dag_id)}`}>{d.dag_id}</a><div class="muted">{d.description ?? ""}</div></td>
                <td><Badge value={d.is_paused ? "paused" : "active"} /></td>
                <td class="mono">{scheduleText(d.schedule_interval)}</td>
                <td>{(d.tags ?? []).map((t) => <span class="badge">{t.name}</span>)}</td>
                <td>
                  <form method="post" action={`/airflow/dags/${encodeURIComponent(d.dag_id)}/${d.is_paused ? "unpause" : "pause"}`} style="display:inline"><Csrf token={ctx.csrf} /><button type="submit" class="small secondary">{d.is_paused ? "Unpause" : "Pause"}</button></form>{" "}
                  <form method="post" action={`/airflow/dags/${encodeURIComponent(d.dag_id)}/trigger`} style="display:inline"><Csrf token={ctx.csrf} /><button type="submit" class="small">Trigger</button></form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager base="/airflow" query={{}} offset={offset} limit={limit} hasMore={offset + limit < res.total_entries} total={res.total_entries} />
      </>);
    } catch (e) {
      return failed(c, e);
    }
  });

  app.get("/airflow/dags/:id", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, true);
    const id = c.req.param("id");
    const limit = intParam(c.req.query("limit"), 25, 1, 100);
    const offset = intParam(c.req.query("offset"), 0, 0, 1_000_000);
    try {
      const [dag, runs] = await Promise.all([client.getDag(id), client.listRuns(id, limit, offset)]);
      return page(c, ctx, `DAG ${id}`, "airflow", <>
        <h1>DAG {dag.dag_id} <Badge value={dag.is_paused ? "paused" : "active"} /></h1>
        <form method="post" action={`/airflow/dags/${encodeURIComponent(id)}/trigger`} class="stack card">
          <Csrf token={ctx.csrf} />
          <label for="conf">Run configuration (JSON object)</label>
          <textarea name="conf" id="conf" rows={3}>{"{}"}</textarea>
          <p><button type="submit">Trigger run</button></p>
        </form>
        <table id="dag-runs">
          <thead><tr><th>Run</th><th>State</th><th>Type</th><th>Logical date</th><th>Start</th><th>End</th></tr></thead>
          <tbody>
            {runs.dag_runs.map((r) => (
              <tr><td class="mono">{r.dag_run_id ?? ""}</td><td><Badge value={r.state ?? "queued"} /></td><td>{r.run_type ?? ""}</td><td>{r.logical_date ?? r.execution_date ?? ""}</td><td>{r.start_date ?? ""}</td><td>{r.end_date ?? ""}</td></tr>
            ))}
          </tbody>
        </table>
        <Pager base={`/airflow/dags/${encodeURIComponent(id)}`} query={{}} offset={offset} limit={limit} hasMore={offset + limit < runs.total_entries} total={runs.total_entries} />
      </>);
    } catch (e) {
      return failed(c, e);
    }
  });

  app.post("/airflow/dags/:id/trigger", csrf, requireRole("mlops-engineer"), async (c) => {
    const id = c.req.param("id");
    const form = await readForm(c);
    let conf: Record<string, unknown> = {};
    if (form.conf?.trim()) {
      try {
        const parsed: unknown = JSON.parse(form.conf);
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
        conf = Object.fromEntries(Object.entries(parsed));
      } catch {
        return page(c, pageContext(c, true), "Airflow", "airflow", <p class="error" role="alert" data-field="conf">conf must be a JSON object</p>, { status: 422 });
      }
    }
    try {
      await client.trigger(id, conf);
    } catch (e) {
      return failed(c, e);
    }
    return navigate(c, `/airflow/dags/${encodeURIComponent(id)}`);
  });

  for (const [op, paused] of [["pause", true], ["unpause", false]] as const) {
    app.post(`/airflow/dags/:id/${op}`, csrf, requireRole("mlops-engineer"), async (c) => {
      try {
        await client.setPaused(c.req.param("id"), paused);
      } catch (e) {
        return failed(c, e);
      }
      return navigate(c, "/airflow");
    });
  }
  return app;
}

function scheduleText(s: unknown): string {
  if (typeof s === "string") return s;
  if (s && typeof s === "object" && "value" in s && typeof s.value === "string") return s.value;
  return "";
}
