// Registry: experiments, and each experiment's runs as a sortable, paginated metrics/params table; a run's charts.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { LineChart } from "../chart.tsx";
import { Badge, KeyValues, fmtNum, fmtTime, intParam } from "../components.tsx";
import type { Paged, UiDeps, UiRun } from "../deps.ts";
import { isKnownError } from "../../platform/errors.ts";
import { artifactRoutes } from "./artifacts.tsx";
import { compareRoutes } from "./compare.tsx";
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
  /** MLflow search filter, e.g. `metrics.accuracy > 0.9 and params.lr = '0.1'`. */
  readonly filter?: string | undefined;
  /** Chosen columns (`metrics.x`, `params.y`); empty = the most common keys on the page. */
  readonly cols?: readonly string[] | undefined;
}

export function parseRunsQuery(q: (k: string) => string | undefined, all: (k: string) => readonly string[] = () => []): RunsQuery {
  const sort = q("sort") ?? "";
  return {
    sort: SORT_RE.test(sort) ? sort : "attributes.start_time",
    dir: q("dir") === "ASC" ? "ASC" : "DESC",
    limit: intParam(q("limit"), 50, 1, 500),
    pageToken: q("page_token") || undefined,
    filter: q("filter")?.trim().slice(0, 2000) || undefined,
    cols: all("col").filter((c) => SORT_RE.test(c)).slice(0, 40),
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
    const q = parseRunsQuery((k) => c.req.query(k), (k) => c.req.queries(k) ?? []);
    const exp = await deps.registry.getExperiment(id);
    let res: Paged<UiRun> = { items: [] };
    let filterError: string | undefined;
    try {
      res = await deps.registry.searchRuns({ experimentIds: [id], orderBy: [orderBy(q.sort, q.dir)], maxResults: q.limit, pageToken: q.pageToken, filter: q.filter });
    } catch (e) {
      // A filter the registry cannot parse is the user's typo: say so at the search box, keep the page.
      if (!(q.filter && isKnownError(e) && e.status === 400)) throw e;
      filterError = e.message;
    }
    const base = `/registry/experiments/${encodeURIComponent(id)}`;
    return page(c, ctx, `Runs of ${exp.name}`, "registry", <>
      <p class="crumbs"><a href="/registry">Experiments</a> › {exp.name}</p>
      <h1>Experiment {exp.name}</h1>
      <SearchForm base={base} q={q} runs={res.items} error={filterError} />
      <RunsTable runs={res.items} q={q} base={base} />
      <div class="pager">
        {q.pageToken ? <a href={link(base, { ...q, pageToken: undefined })}>First page</a> : null}
        {res.nextPageToken ? <a rel="next" href={link(base, { ...q, pageToken: res.nextPageToken })}>Next →</a> : null}
      </div>
    </>);
  });

  app.route("/", compareRoutes(deps, airflow));
  app.route("/", artifactRoutes(deps, airflow));

  app.get("/registry/runs/:runId", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const run = await deps.registry.getRun(c.req.param("runId"));
    const keys = Object.keys(run.metrics).sort().slice(0, 12);
    const histories = (await Promise.all(keys.map(async (k) => ({ k, points: await deps.registry.getMetricHistory(run.runId, k) })))).sort((a, b) => Number(b.points.length > 1) - Number(a.points.length > 1));
    return page(c, ctx, `Run ${run.runName ?? run.runId}`, "registry", <>
      <p class="crumbs"><a href="/registry">Experiments</a> › <a href={`/registry/experiments/${encodeURIComponent(run.experimentId)}`}>experiment {run.experimentId}</a> › run</p>
      <h1>Run {run.runName ?? run.runId}</h1>
      <p class="row">
        <a class="button secondary shrink" href={`/registry/runs/${encodeURIComponent(run.runId)}/artifacts`} id="run-artifacts">Artifacts</a>
        {run.tags["flywheel.job_id"] ? <a class="button secondary shrink" href={`/training/jobs/${encodeURIComponent(run.tags["flywheel.job_id"])}`}>Training job</a> : null}
      </p>
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
            <div class="card" data-metric={h.k}>
              <h2>{h.k} <span class="muted">final {fmtNum(run.metrics[h.k])}{h.points.length > 1 ? ` · ${h.points.length} steps` : " · one value"}</span></h2>
              {h.points.length > 1 ? (
                <LineChart title={`${h.k} per step`} id={`metric-${h.k}`} xLabel="step" yLabel={h.k} series={[{ name: h.k, points: h.points.map((p) => ({ x: p.step, y: p.value })) }]} />
              ) : <p class="metric-single">{fmtNum(run.metrics[h.k])} <span class="muted">(logged once, at step {h.points[0]?.step ?? 0}: no history to draw)</span></p>}
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
  if (q.filter) p.set("filter", q.filter);
  for (const col of q.cols ?? []) p.append("col", col);
  return `${base}?${p.toString()}`;
}

/** MLflow's filter syntax, and a column chooser over the keys of the runs on this page. */
const SearchForm: FC<{ base: string; q: RunsQuery; runs: readonly UiRun[]; error: string | undefined }> = ({ base, q, runs, error }) => {
  const keys = [...columns(runs, (r) => r.metrics, 200).map((k) => `metrics.${k}`), ...columns(runs, (r) => r.params, 200).map((k) => `params.${k}`)];
  const chosen = new Set(q.cols?.length ? q.cols : shownCols(runs, q));
  return (
    <form method="get" action={base} class="card stack" id="runs-search">
      <input type="hidden" name="sort" value={q.sort} />
      <input type="hidden" name="dir" value={q.dir} />
      <div class={error ? "field invalid" : "field"}>
        <label for="filter">Search runs</label>
        <div class="row">
          <input type="text" name="filter" id="filter" value={q.filter ?? ""} placeholder="metrics.accuracy > 0.9 and params.lr = '0.1'" aria-describedby="filter-help" />
          <button type="submit" class="shrink">Search</button>
        </div>
        <small class="muted" id="filter-help">MLflow syntax: <code>metrics.x</code>, <code>params.x</code>, <code>tags.x</code>, <code>attributes.status</code>; <code>= != &lt; &gt; LIKE</code>, joined with <code>and</code>. Strings in quotes.</small>
        {error ? <p class="field-error" data-field="filter">{error}</p> : null}
      </div>
      {keys.length ? (
        <details id="columns">
          <summary>Columns ({chosen.size} of {keys.length})</summary>
          <div class="checks">
            {keys.map((k) => <label><input type="checkbox" name="col" value={k} checked={chosen.has(k)} /> {k}</label>)}
          </div>
          <button type="submit" class="secondary small">Show these columns</button>
        </details>
      ) : null}
    </form>
  );
};

function shownCols(runs: readonly UiRun[], q: RunsQuery): string[] {
  if (q.cols?.length) return [...q.cols];
  return [...columns(runs, (r) => r.metrics, MAX_METRIC_COLS).map((k) => `metrics.${k}`), ...columns(runs, (r) => r.params, MAX_PARAM_COLS).map((k) => `params.${k}`)];
}

/** Metric and param columns: the keys present on this page, most common first. */
export function columns(runs: readonly UiRun[], pick: (r: UiRun) => Readonly<Record<string, unknown>>, max: number): string[] {
  const count = new Map<string, number>();
  for (const r of runs) for (const k of Object.keys(pick(r))) count.set(k, (count.get(k) ?? 0) + 1);
  return [...count].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, max).map(([k]) => k).sort();
}

export const RunsTable: FC<{ runs: readonly UiRun[]; q: RunsQuery; base: string }> = ({ runs, q, base }) => {
  const cols = shownCols(runs, q);
  const metricCols = cols.filter((k) => k.startsWith("metrics.")).map((k) => k.slice(8));
  const paramCols = cols.filter((k) => k.startsWith("params.")).map((k) => k.slice(7));
  const Sort: FC<{ sort: string; label: string; num?: boolean }> = ({ sort, label, num }) => {
    const active = q.sort === sort;
    const dir = active && q.dir === "DESC" ? "ASC" : "DESC";
    return (
      <th class={num ? "num" : undefined} aria-sort={active ? (q.dir === "ASC" ? "ascending" : "descending") : undefined}>
        <a href={link(base, { ...q, sort, dir, pageToken: undefined })}>{label}{active ? (q.dir === "ASC" ? " ▲" : " ▼") : ""}</a>
      </th>
    );
  };
  if (!runs.length) return <p class="muted">{q.filter ? "No run matches this search." : "No runs."}</p>;
  return (
    <form method="get" action="/registry/compare" id="compare-form">
    <p class="row"><span class="muted">Tick two or more runs to compare their params and metrics side by side.</span><button type="submit" class="shrink secondary" id="compare">Compare selected</button></p>
    <div class="scroll">
    <table id="runs">
      <thead>
        <tr>
          <th><span class="sr-only">Select</span></th>
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
            <td><input type="checkbox" name="runs" value={r.runId} aria-label={`Select ${r.runName ?? r.runId}`} /></td>
            <td><a href={`/registry/runs/${encodeURIComponent(r.runId)}`}>{r.runName ?? r.runId}</a></td>
            <td><Badge value={r.status} /></td>
            <td>{fmtTime(r.startTime)}</td>
            {metricCols.map((m) => <td class="num">{fmtNum(r.metrics[m])}</td>)}
            {paramCols.map((p) => <td class="mono">{r.params[p] ?? ""}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
    </div>
    </form>
  );
};
