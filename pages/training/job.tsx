// The job page: live status and timeline, a progress chart that updates, streamed logs per rank, and cancel.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { streamSSE } from "hono/streaming";
import { isTerminal } from "../../platform/ports.ts";
import type { JobRecord } from "../../platform/ports.ts";
import { errorFields } from "../../platform/log.ts";
import { LineChart } from "../chart.tsx";
import type { Series } from "../chart.tsx";
import { Badge, Csrf, KeyValues, fmtDuration, fmtTime, intParam } from "../components.tsx";
import type { ProgressPoint, UiDeps } from "../deps.ts";
import { readForm } from "../forms.ts";
import { isHtmx, navigate, page, pageContext } from "../layout.tsx";
import { TAG } from "../../platform/lineage.ts";

const TAIL_LINES = 200;
/** A line longer than this is cut on the page (the download has it whole, up to the API's 64 KiB line cap). */
const PAGE_LINE_CHARS = 2000;
const PENDING_POLL_MS = 500;

/** Metrics that live on 0..1 and read as "higher is better" go on the right axis when a loss-like one is there too. */
const RATIO = /acc|precision|recall|f1|auc|iou/i;

export function progressSeries(points: readonly ProgressPoint[]): Series[] {
  const by = new Map<string, { x: number; y: number }[]>();
  for (const p of points) {
    if (!Number.isFinite(p.value)) continue;
    let list = by.get(p.metric);
    if (!list) by.set(p.metric, (list = []));
    list.push({ x: p.step, y: p.value });
  }
  const names = [...by.keys()];
  const split = names.some((n) => RATIO.test(n)) && names.some((n) => !RATIO.test(n));
  return [...by].map(([name, pts]) => ({ name, points: pts, right: split && RATIO.test(name) }));
}

/** Steps the job will run, from its params (epochs, steps, max_steps, ...), when it says. */
export function totalSteps(job: JobRecord): number | undefined {
  const params: Readonly<Record<string, unknown>> = job.spec.params;
  for (const k of ["epochs", "num_epochs", "max_epochs", "steps", "max_steps", "iterations"]) {
    const n = Number(params[k]);
    if (Number.isInteger(n) && n > 0) return n;
  }
  return undefined;
}

export interface Eta {
  readonly done: number;
  readonly total: number;
  readonly percent: number;
  /** seconds left, when the job is running and the points carry times */
  readonly etaSeconds?: number | undefined;
}

/** % done from the last step against the total; ETA from the pace so far (first to last progress point). */
export function etaOf(job: JobRecord, points: readonly ProgressPoint[]): Eta | undefined {
  const total = totalSteps(job);
  if (!total || !points.length) return undefined;
  const steps = points.map((p) => p.step);
  const first = Math.min(...steps);
  const done = Math.min(total, Math.max(...steps) + (first === 0 ? 1 : 0));
  const timed = points.filter((p) => p.time !== undefined);
  const t0 = timed[0]?.time;
  const t1 = timed[timed.length - 1]?.time;
  const pace = t0 !== undefined && t1 !== undefined && done > 1 ? (t1 - t0) / 1000 / (done - 1) : undefined;
  const running = !isTerminal(job.state);
  return { done, total, percent: Math.round((100 * done) / total), etaSeconds: running && pace !== undefined ? Math.max(0, Math.round(pace * (total - done))) : undefined };
}

export function jobRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;
  const load = async (id: string): Promise<JobRecord | undefined> => deps.training.get(id);

  app.get("/training/jobs/:id", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const job = await load(c.req.param("id"));
    if (!job && c.req.query("requested")) {
      // Just requested: the broker delivers training.requested to launch-training in a moment. Refresh until then.
      return page(c, ctx, "Job requested", "jobs", <div id="job-requested" data-state="requested">
        <h1>Job <span class="mono">{c.req.param("id")}</span></h1>
        <p class="muted">Training requested; waiting for the launcher to start it…</p>
      </div>, { refreshAlways: 1 });
    }
    if (!job) return page(c, ctx, "Job not found", "jobs", <p class="error">No job {c.req.param("id")}.</p>, { status: 404 });
    const [progress, produced] = await Promise.all([deps.training.progress(job.id), producedBy(deps, job)]);
    const rank = intParam(c.req.query("rank"), 0, 0, Math.max(0, job.ranks - 1));
    const live = <JobLive job={job} progress={progress} csrf={ctx.csrf} produced={produced} />;
    if (isHtmx(c)) return c.html(live);
    const tail: string[] = [];
    try {
      // Only the tail is read (not the whole file), and each line is cut for the page: the full log is a download.
      for await (const line of deps.training.logs(job.id, { rank, follow: false, tail: TAIL_LINES })) {
        tail.push(line.length > PAGE_LINE_CHARS ? `${line.slice(0, PAGE_LINE_CHARS)} [… ${line.length - PAGE_LINE_CHARS} more characters in the full log]` : line);
        if (tail.length > TAIL_LINES) tail.shift();
      }
    } catch (e) {
      deps.log.warn("job logs unavailable", { jobId: job.id, ...errorFields(e) });
    }
    return page(c, ctx, `Job ${job.id}`, "jobs", <>
      <p class="crumbs"><a href="/training/jobs">Jobs</a> › <span class="mono">{job.id}</span></p>
      <h1>Job <span class="mono">{job.id}</span></h1>
      <JobActions job={job} csrf={ctx.csrf} />
      {live}
      <h2>Logs</h2>
      <form method="get" action={`/training/jobs/${encodeURIComponent(job.id)}`} class="row">
        <label class="shrink">
          {job.kind === "spark" ? "Process" : "Rank"}{" "}
          <select name="rank" id="rank">
            {Array.from({ length: Math.max(1, job.ranks) }, (_, i) => (
              <option value={String(i)} selected={i === rank}>{job.kind === "spark" && i === 0 ? "driver" : job.kind === "spark" ? `executor ${i}` : `rank ${i}`}</option>
            ))}
          </select>
        </label>
        <noscript><button type="submit" class="shrink secondary">Show</button></noscript>
      </form>
      <p class="muted">The last {TAIL_LINES} lines. <a href={`/api/v1/jobs/${encodeURIComponent(job.id)}/logs?rank=${rank}`} download={`${job.id}-rank-${rank}.log`}>Download the full log</a></p>
      <pre id="logs" tabindex={0} data-log-stream={`/training/jobs/${encodeURIComponent(job.id)}/logs/stream`}>{tail.join("\n")}</pre>
    </>, { refreshWithoutJs: isTerminal(job.state) ? undefined : 3 });
  });

  // Server-Sent Events: the last lines of one rank, then every new one, then an `end` event carrying the final state.
  app.get("/training/jobs/:id/logs/stream", requireRole("viewer"), async (c) => {
    const job = await load(c.req.param("id"));
    if (!job) return c.json({ error: "job not found", code: "NOT_FOUND" }, 404);
    const rank = intParam(c.req.query("rank"), 0, 0, Math.max(0, job.ranks - 1));
    return streamSSE(c, async (stream) => {
      const ac = new AbortController();
      stream.onAbort(() => ac.abort());
      // A pending job has no logs yet: wait for it to start rather than ending the stream empty.
      let current: JobRecord | undefined = job;
      while (current?.state === "pending" && !ac.signal.aborted) {
        await stream.sleep(PENDING_POLL_MS);
        current = await load(job.id);
      }
      try {
        for await (const line of deps.training.logs(job.id, { rank, follow: true, signal: ac.signal, tail: TAIL_LINES })) {
          const shown = line.length > PAGE_LINE_CHARS ? `${line.slice(0, PAGE_LINE_CHARS)} [… ${line.length - PAGE_LINE_CHARS} more characters in the full log]` : line;
          await stream.writeSSE({ event: "log", data: shown.replace(/\r?\n/g, " ") });
        }
      } catch (e) {
        if (!ac.signal.aborted) await stream.writeSSE({ event: "log", data: `[log stream ended: ${e instanceof Error ? e.message : "error"}]` });
      }
      const final = await load(job.id);
      await stream.writeSSE({ event: "end", data: final?.state ?? "unknown" });
    });
  });

  app.post("/training/jobs/:id/cancel", csrf, requireRole("data-scientist"), async (c) => {
    const ctx = pageContext(c, airflow);
    const id = c.req.param("id");
    const job = await load(id);
    if (!job) return page(c, ctx, "Job not found", "jobs", <p class="error">No job {id}.</p>, { status: 404 });
    const form = await readForm(c);
    if (form.confirm !== "yes" && c.req.header("hx-request") !== "true") {
      // Without JavaScript there was no confirm() dialog: ask on a page of its own.
      return page(c, ctx, "Cancel job?", "jobs", <form method="post" action={`/training/jobs/${encodeURIComponent(id)}/cancel`} class="card">
        <Csrf token={ctx.csrf} />
        <input type="hidden" name="confirm" value="yes" />
        <p>Cancel job <span class="mono">{id}</span> ({job.model}, {job.state})?</p>
        <button type="submit" class="danger" id="confirm-cancel">Yes, cancel it</button> <a href={`/training/jobs/${encodeURIComponent(id)}`}>No, keep it running</a>
      </form>);
    }
    if (!isTerminal(job.state)) await deps.training.cancel(id);
    return navigate(c, `/training/jobs/${encodeURIComponent(id)}`);
  });

  return app;
}

/** Status, timeline and progress chart; polls itself every 2 s until the job ends. */
export const JobLive: FC<{ job: JobRecord; progress: readonly ProgressPoint[]; csrf: string; produced: Produced | undefined }> = ({ job, progress, csrf, produced }) => {
  const live = !isTerminal(job.state);
  const eta = etaOf(job, progress);
  const url = `/training/jobs/${encodeURIComponent(job.id)}`;
  return (
    <div id="job-live" data-state={job.state} {...(live ? { "hx-get": url, "hx-trigger": "every 2s", "hx-swap": "outerHTML" } : {})}>
      {live ? (
        <form method="post" action={`${url}/cancel`} class="card">
          <Csrf token={csrf} />
          <button type="submit" class="danger" id="cancel" data-confirm={`Cancel job ${job.id}?`}>Cancel job</button>
        </form>
      ) : null}
      <div class="two">
        <div class="card">
          <KeyValues entries={[
            ["State", <Badge value={job.state} />],
            ["Model", <a href={`/models/${encodeURIComponent(job.model)}`}>{job.model}</a>],
            ["Run", produced?.runId ? <a href={`/registry/runs/${encodeURIComponent(produced.runId)}`} class="mono" id="job-run">{produced.runId}</a> : <span class="muted">{job.state === "succeeded" ? "being registered…" : "after the job succeeds"}</span>],
            ["Model version", produced ? <a href={`/models/${encodeURIComponent(job.model)}/versions/${encodeURIComponent(produced.version)}`} id="job-version">{job.model} v{produced.version}</a> : <span class="muted">{job.state === "succeeded" ? "being registered…" : "after the job succeeds"}</span>],
            ["Kind", `${job.kind} on ${job.backend}`],
            ["Trigger", job.trigger.reason + (job.trigger.user ? ` by ${job.trigger.user}` : "")],
            ["Created", fmtTime(job.createdAt)],
            ["Duration", fmtDuration(job.startedAt, job.finishedAt)],
            ...(job.failureReason ? [["Failure", `${job.failureReason}${job.failedRank !== undefined ? ` (rank ${job.failedRank})` : ""}: ${job.message ?? ""}`] as const] : []),
            ...(job.exitCode !== undefined ? [["Exit code", String(job.exitCode)] as const] : []),
          ]} />
        </div>
        <div class="card">
          <h2>Timeline</h2>
          <ol class="timeline">
            {job.history.map((h) => (
              <li><Badge value={h.state} /> {fmtTime(h.at)} {h.reason ? <span class="muted">{h.reason}</span> : null} {h.message ? <span class="muted">— {h.message}</span> : null}</li>
            ))}
          </ol>
        </div>
      </div>
      <div class="card">
        <h2>Progress</h2>
        {eta ? (
          <p id="job-eta">
            <progress max={100} value={eta.percent} aria-label="Training progress">{eta.percent}%</progress>{" "}
            <strong>{eta.percent}% done</strong> (step {eta.done} of {eta.total})
            {eta.etaSeconds !== undefined ? <>, about {fmtSeconds(eta.etaSeconds)} left</> : null}
          </p>
        ) : null}
        <LineChart series={progressSeries(progress)} title="Progress metrics" id="progress-chart" xLabel="step" yLabel={yLabels(progress).left} y2Label={yLabels(progress).right} />
      </div>
    </div>
  );
};

function yLabels(points: readonly ProgressPoint[]): { left: string; right: string } {
  const series = progressSeries(points);
  return { left: series.filter((s) => !s.right).map((s) => s.name).join(", "), right: series.filter((s) => s.right).map((s) => s.name).join(", ") };
}

const fmtSeconds = (s: number): string => (s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);

interface Produced {
  readonly version: string;
  readonly runId: string | undefined;
}

/** The model version log-model registered from this job (tagged with its id), and the version's run. */
async function producedBy(deps: UiDeps, job: JobRecord): Promise<Produced | undefined> {
  if (job.state !== "succeeded") return undefined;
  try {
    const v = (await deps.models.searchModelVersions(job.model)).find((x) => x.tags[TAG.jobId] === job.id);
    return v ? { version: v.version, runId: v.runId } : undefined;
  } catch {
    return undefined;
  }
}

/** Re-run the same spec now, or open the launch form filled with it (clone). */
const JobActions: FC<{ job: JobRecord; csrf: string }> = ({ job, csrf }) => (
  <div class="row actions">
    <form method="post" action={`/training/jobs/${encodeURIComponent(job.id)}/rerun`} class="shrink">
      <Csrf token={csrf} />
      <button type="submit" class="secondary" id="rerun">Re-run</button>
    </form>
    <a class="button secondary shrink" id="clone" href={`/training?clone=${encodeURIComponent(job.id)}`}>Clone and edit</a>
  </div>
);
