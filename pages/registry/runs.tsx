// Registry: experiments, and each experiment's runs as a sortable, paginated metrics/params table; a run's charts.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { LineChart } from "../chart.tsx";
import { Badge, KeyValues, fmtNum, fmtTime, intParam } from "../components.tsx";
import type { UiDeps, UiRun } from "../deps.ts";
import { page, pageContext } from "../layout.tsx";

const MAX_METRIC_COLS = 8;
const MAX_PARAM_COLS = 6;
/** MLflow order_by keys we let users sort on: a metric, a param, or an attribute. */
const SORT_RE = /^(metrics|params)\.[A-Za-z0-9_.\-/ ]{1,250}$|^attributes\.(start_time|end_time|run_name|status)$/;

export interface RunsQuery {
  readonly sort: string;
  readonly dir: "ASC" | "DESC";
  readonly limit: number;
  readonly pageToken: string | undefined;
}

export function parseRunsQuery(q: (k: string) => string | undefined): RunsQuery {
  const sort = q("sort") ?? "";
  return {
    sort: SORT_RE.test(sort) ? sort : "attributes.start_time",
    dir: q("dir") === "ASC" ? "ASC" : "DESC",
    limit: intParam(q("limit"), 50, 1, 500),
    pageToken: q("page_token") || undefined,
  };
}

/** Quote a key for MLflow order_by when it holds characters outside [A-Za-z0-9_]. */
export function orderBy(sort: string, dir: "ASC" | "DESC"): string {
  const dot = sort.indexOf(".");
  const [kind, key] = [sort.slice(0, dot), sort.slice(dot + 1)];
  const quoted = /^[A-Za-z0-9_]+$/.test(key) ? key : `\`${key.replace(/`/g, "")}\``;
  return `${kind}.${quoted} ${dir}`;
}

export function registryRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole } = deps.auth;

  app.get("/registry", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const token = c.req.query("page_token") || undefined;
    const res = await deps.registry.searchExperiments({ maxResults: 100, pageToken: token });
    return page(c, ctx, "Experiments", "registry", <>
      <h1>Experiments</h1>
      <table>
        <thead><tr><th>Name</th><th>Id</th><th>Last update</th></tr></thead>
        <tbody>
          {res.items.map((e) => (
            <tr><td><a href={`/registry/experiments/${encodeURIComponent(e.experimentId)}`}>{e.name}</a></td><td class="mono">{e.experimentId}</td><td>{fmtTime(e.lastUpdateTime)}</td></tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        {token ? <a href="/registry">First page</a> : null}
        {res.nextPageToken ? <a rel="next" href={`/registry?page_token=${encodeURIComponent(res.nextPageToken)}`}>Next →</a> : null}
      </div>
    </>);
  });

  app.get("/registry/experiments/:id", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const id = c.req.param("id");
    const q = parseRunsQuery((k) => c.req.query(k));
    const [exp, res] = await Promise.all([
      deps.registry.getExperiment(id),
      deps.registry.searchRuns({ experimentIds: [id], orderBy: [orderBy(q.sort, q.dir)], maxResults: q.limit, pageToken: q.pageToken }),
    ]);
    return page(c, ctx, `Runs of ${exp.name}`, "registry", <>
      <h1>Experiment {exp.name}</h1>
      <RunsTable runs={res.items} q={q} base={`/registry/experiments/${encodeURIComponent(id)}`} />
      <div class="pager">
        {q.pageToken ? <a href={link(`/registry/experiments/${encodeURIComponent(id)}`, { ...q, pageToken: undefined })}>First page</a> : null}
        {res.nextPageToken ? <a rel="next" href={link(`/registry/experiments/${encodeURIComponent(id)}`, { ...q, pageToken: res.nextPageToken })}>Next →</a> : null}
      </div>
    </>);
  });

  app.get("/registry/runs/:runId", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const run = await deps.registry.getRun(c.req.param("runId"));
    const keys = Object.keys(run.metrics).sort().slice(0, 12);
    const histories = await Promise.all(keys.map(async (k) => ({ k, points: await deps.registry.getMetricHistory(run.runId, k) })));
    return page(c, ctx, `Run ${run.runName ?? run.runId}`, "registry", <>
      <h1>Run {run.runName ?? run.runId}</h1>
      <div class="two">
        <div class="card">
          <KeyValues entries={[
            ["Run id", <span class="mono">{run.runId}</span>],
            ["Experiment", <a href={`/registry/experiments/${encodeURIComponent(run.experimentId)}`}>{run.experimentId}</a>],
            ["Status", <Badge value={run.status} />],
            ["Started", fmtTime(run.startTime)],
            ["Ended", fmtTime(run.endTime)],
          ]} />
          <h2>Parameters</h2>
          <KeyValues entries={Object.entries(run.params).sort().map(([k, v]) => [k, <span class="mono">{v}</span>] as const)} />
          <h2>Tags</h2>
          <KeyValues entries={Object.entries(run.tags).sort().filter(([k]) => !k.startsWith("mlflow.log-model")).map(([k, v]) => [k, <span class="mono">{v.length > 300 ? `${v.slice(0, 300)}…` : v}</span>] as const)} />
        </div>
        <div>
          {histories.map((h) => (
            <div class="card">
              <h2>{h.k} <span class="muted">{fmtNum(run.metrics[h.k])}</span></h2>
              <LineChart title={h.k} series={[{ name: h.k, points: h.points.map((p) => ({ x: p.step, y: p.value })) }]} />
            </div>
          ))}
        </div>
      </div>
    </>);
  });

  return app;
}

function link(base: string, q: RunsQuery): string {
  const p = new URLSearchParams({ sort: q.sort, dir: q.dir, limit: String(q.limit) });
  if (q.pageToken) p.set("page_token", q.pageToken);
  return `${base}?${p.toString()}`;
}

/** Metric and param columns: the keys present on this page, most common first. */
export function columns(runs: readonly UiRun[], pick: (r: UiRun) => Readonly<Record<string, unknown>>, max: number): string[] {
  const count = new Map<string, number>();
  for (const r of runs) for (const k of Object.keys(pick(r))) count.set(k, (count.get(k) ?? 0) + 1);
  return [...count].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, max).map(([k]) => k).sort();
}

export const RunsTable: FC<{ runs: readonly UiRun[]; q: RunsQuery; base: string }> = ({ runs, q, base }) => {
  const metricCols = columns(runs, (r) => r.metrics, MAX_METRIC_COLS);
  const paramCols = columns(runs, (r) => r.params, MAX_PARAM_COLS);
  const Sort: FC<{ sort: string; label: string; num?: boolean }> = ({ sort, label, num }) => {
    const active = q.sort === sort;
    const dir = active && q.dir === "DESC" ? "ASC" : "DESC";
    return (
      <th class={num ? "num" : undefined} aria-sort={active ? (q.dir === "ASC" ? "ascending" : "descending") : undefined}>
        <a href={link(base, { ...q, sort, dir, pageToken: undefined })}>{label}{active ? (q.dir === "ASC" ? " ▲" : " ▼") : ""}</a>
      </th>
    );
  };
  if (!runs.length) return <p class="muted">No runs.</p>;
  return (
    <table id="runs">
      <thead>
        <tr>
          <Sort sort="attributes.run_name" label="Run" />
          <Sort sort="attributes.status" label="Status" />
          <Sort sort="attributes.start_time" label="Started" />
          {metricCols.map((m) => <Sort sort={`metrics.${m}`} label={m} num />)}
          {paramCols.map((p) => <Sort sort={`params.${p}`} label={p} />)}
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr>
            <td><a href={`/registry/runs/${encodeURIComponent(r.runId)}`}>{r.runName ?? r.runId}</a></td>
            <td><Badge value={r.status} /></td>
            <td>{fmtTime(r.startTime)}</td>
            {metricCols.map((m) => <td class="num">{fmtNum(r.metrics[m])}</td>)}
            {paramCols.map((p) => <td class="mono">{r.params[p] ?? ""}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  );
};
