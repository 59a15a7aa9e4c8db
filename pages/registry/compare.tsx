// Run comparison: params and metrics of the selected runs side by side (differences marked) and a parallel-coordinates
// chart over the numeric params and the metrics, server-rendered SVG.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { COLORS, extent, fmtTick } from "../chart.tsx";
import { fmtNum } from "../components.tsx";
import type { UiDeps, UiRun } from "../deps.ts";
import { page, pageContext } from "../layout.tsx";

const MAX_RUNS = 20;

/** Run ids as MLflow makes them (hex, or a client's own word characters): safe inside a quoted filter literal. */
const PLAIN_ID = /^[A-Za-z0-9_-]+$/;

/**
 * The runs, in the order asked: one search (`attributes.run_id IN (...)`) over the experiments, which the registry
 * answers with one query per table, instead of one get-run per run; a run the search does not return (an experiment
 * beyond the first 1000, or a deleted one) is fetched on its own.
 */
async function runsByIds(deps: Pick<UiDeps, "registry">, ids: readonly string[]): Promise<UiRun[]> {
  const experiments = (await deps.registry.searchExperiments({ maxResults: 1000 })).items.map((e) => e.experimentId);
  const found = new Map<string, UiRun>();
  const plain = ids.filter((id) => PLAIN_ID.test(id));
  if (experiments.length && plain.length) {
    const page = await deps.registry.searchRuns({ experimentIds: experiments, orderBy: [], maxResults: plain.length, filter: `attributes.run_id IN (${plain.map((id) => `'${id}'`).join(", ")})` });
    for (const r of page.items) if (ids.includes(r.runId)) found.set(r.runId, r);
  }
  return Promise.all(ids.map((id) => found.get(id) ?? deps.registry.getRun(id)));
}

export function compareRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  app.get("/registry/compare", deps.auth.requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const ids = [...new Set((c.req.queries("runs") ?? []).flatMap((v) => v.split(",")).map((s) => s.trim()).filter(Boolean))].slice(0, MAX_RUNS);
    if (ids.length < 2) {
      return page(c, ctx, "Compare runs", "registry", <>
        <h1>Compare runs</h1>
        <p class="errors" role="alert">Select at least two runs to compare (tick them in an experiment's run table).</p>
        <p><a href="/registry">Experiments</a></p>
      </>, { status: 400 });
    }
    const runs = await runsByIds(deps, ids);
    const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
    const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
    const differs = (vals: readonly (string | number | undefined)[]): boolean => new Set(vals.map(String)).size > 1;
    return page(c, ctx, "Compare runs", "registry", <>
      <h1>Compare {runs.length} runs</h1>
      <div class="card">
        <h2>Parallel coordinates</h2>
        <p class="muted">One line per run across every numeric param and metric; each axis is scaled to the runs' range.</p>
        <ParallelCoordinates runs={runs} params={params.filter((p) => runs.every((r) => r.params[p] === undefined || Number.isFinite(Number(r.params[p]))))} metrics={metrics} />
      </div>
      <div class="card scroll">
        <table id="compare-table" class="compare">
          <thead>
            <tr><th scope="col">Run</th>{runs.map((r, i) => <th scope="col"><span class="swatch" style={`background:${COLORS[i % COLORS.length]}`}></span> <a href={`/registry/runs/${encodeURIComponent(r.runId)}`}>{r.runName ?? r.runId}</a></th>)}</tr>
          </thead>
          <tbody>
            <tr class="section"><th scope="rowgroup" colspan={runs.length + 1}>Metrics</th></tr>
            {metrics.map((m) => {
              const vals = runs.map((r) => r.metrics[m]);
              const best = Math.max(...vals.filter((v): v is number => v !== undefined));
              return <tr data-metric={m}><th scope="row">{m}</th>{vals.map((v) => <td class={v === best && differs(vals) ? "num best" : "num"}>{fmtNum(v)}</td>)}</tr>;
            })}
            <tr class="section"><th scope="rowgroup" colspan={runs.length + 1}>Params</th></tr>
            {params.map((p) => {
              const vals = runs.map((r) => r.params[p]);
              return <tr data-param={p} class={differs(vals) ? "differs" : undefined}><th scope="row">{p}{differs(vals) ? <span class="sr-only"> (differs)</span> : null}</th>{vals.map((v) => <td class="mono">{v ?? "—"}</td>)}</tr>;
            })}
          </tbody>
        </table>
        <p class="muted">Rows whose params differ are highlighted; the highest value of each metric is in bold.</p>
      </div>
    </>);
  });
  return app;
}

const W = 760;
const H = 300;
const PAD = { l: 40, r: 40, t: 34, b: 24 };

/** Axes left to right (params, then metrics); each run a polyline through its values, missing values skipped. */
export const ParallelCoordinates: FC<{ runs: readonly UiRun[]; params: readonly string[]; metrics: readonly string[] }> = ({ runs, params, metrics }) => {
  const axes = [...params.map((k) => ({ key: `params.${k}`, label: k, get: (r: UiRun) => (r.params[k] === undefined ? undefined : Number(r.params[k])) })), ...metrics.map((k) => ({ key: `metrics.${k}`, label: k, get: (r: UiRun) => r.metrics[k] }))];
  if (axes.length < 2) return <p class="muted">Fewer than two numeric params and metrics: nothing to plot.</p>;
  const x = (i: number): number => PAD.l + (i * (W - PAD.l - PAD.r)) / (axes.length - 1);
  const ranges = axes.map((a) => {
    // The same axis rule as the line charts: a constant value gets a range around it that stays honest (0..1 for 0.2).
    return extent(runs.map(a.get).filter((v): v is number => v !== undefined && Number.isFinite(v)));
  });
  const y = (i: number, v: number): number => {
    const [lo = 0, hi = 1] = ranges[i] ?? [];
    return H - PAD.b - ((v - lo) / (hi - lo)) * (H - PAD.t - PAD.b);
  };
  return (
    <div class="scroll">
      <svg class="chart" id="parallel" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Parallel coordinates of ${runs.length} runs over ${axes.map((a) => a.label).join(", ")}`} style={`min-width:${Math.min(W, 120 * axes.length)}px`}>
        <title>Parallel coordinates</title>
        {axes.map((a, i) => (
          <g class="pc-axis" data-axis={a.key}>
            <line class="axis" x1={x(i)} x2={x(i)} y1={PAD.t} y2={H - PAD.b} />
            <text x={x(i)} y={14} text-anchor="middle" class="axis-label">{a.label.length > 16 ? `${a.label.slice(0, 15)}…` : a.label}</text>
            <text x={x(i) + 4} y={PAD.t + 4}>{fmtTick(ranges[i]?.[1] ?? 1)}</text>
            <text x={x(i) + 4} y={H - PAD.b + 14}>{fmtTick(ranges[i]?.[0] ?? 0)}</text>
          </g>
        ))}
        {runs.map((r, ri) => {
          const pts = axes.map((a, i) => ({ i, v: a.get(r) })).filter((p): p is { i: number; v: number } => p.v !== undefined && Number.isFinite(p.v));
          const d = pts.map((p, j) => `${j ? "L" : "M"}${x(p.i).toFixed(1)},${y(p.i, p.v).toFixed(1)}`).join(" ");
          return <path d={d} fill="none" stroke={COLORS[ri % COLORS.length]} stroke-width="2" opacity="0.85" data-run={r.runId}><title>{r.runName ?? r.runId}</title></path>;
        })}
      </svg>
    </div>
  );
};
