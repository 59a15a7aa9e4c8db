// Training: the launch form (POST emits training.requested) and the jobs list with live state.
import { Hono } from "hono";
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { buildEvent } from "../../platform/events/envelope.ts";
import { isJobState, isTerminal } from "../../platform/ports.ts";
import type { JobRecord } from "../../platform/ports.ts";
import { errorFields } from "../../platform/log.ts";
import { Badge, Csrf, Pager, fmtDuration, fmtTime, intParam } from "../components.tsx";
import type { FieldErrors } from "../components.tsx";
import type { UiDeps } from "../deps.ts";
import { readForm } from "../forms.ts";
import { isHtmx, navigate, page, pageContext, pageOrFragment } from "../layout.tsx";
import { TrainingForm, applyTrainingRowOp, emptyTrainingForm, readTrainingForm, validateTrainingForm } from "./form.tsx";
import type { TrainingFormState } from "./form.tsx";
import { loadExamples, parseSpecYaml, specToForm } from "./prefill.ts";
import type { Example } from "./prefill.ts";
import { jobRoutes } from "./job.tsx";

export const UI_SOURCE = "/flywheel/ui";

export function trainingRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;

  const examples = loadExamples();
  const launchPage = (c: Context, st: TrainingFormState, errors: FieldErrors, opts: { yaml?: string; yamlError?: string; from?: string; status?: 200 | 422 | 502 } = {}): Response | Promise<Response> => {
    const ctx = pageContext(c, airflow);
    return page(c, ctx, "Launch training", "training", <>
      <h1>Launch training</h1>
      <p class="muted">A job runs your training code, then its model is registered, scored by the evaluation gate and, if it beats the champion, deployed.</p>
      <div class="two start">
        <StartFrom examples={examples} csrf={ctx.csrf} yaml={opts.yaml} yamlError={opts.yamlError} />
        <div>
          {opts.from ? <p class="flash" role="status">Filled from {opts.from}. Check it and launch.</p> : null}
          <TrainingForm st={st} errors={errors} csrf={ctx.csrf} />
        </div>
      </div>
    </>, { status: opts.status ?? 200 });
  };

  app.get("/training", requireRole("viewer"), async (c) => {
    let st = emptyTrainingForm();
    let from: string | undefined;
    const clone = c.req.query("clone");
    const example = examples.find((e) => e.id === c.req.query("example"));
    if (clone) {
      const job = await deps.training.get(clone);
      if (job) {
        st = specToForm(job.spec);
        from = `job ${job.id}`;
      }
    } else if (example) {
      const parsed = parseSpecYaml(example.yaml);
      if ("st" in parsed) {
        st = parsed.st;
        from = `the ${example.id} example`;
      }
    }
    const kind = c.req.query("kind");
    if (kind === "ddp" || kind === "spark" || kind === "single") st.kind = kind;
    return launchPage(c, st, {}, { from });
  });

  // Pasted YAML fills the form (it does not launch): the user sees what will run, and a YAML error names its line.
  app.post("/training/yaml", csrf, requireRole("viewer"), async (c) => {
    const form = await readForm(c);
    const yaml = form.yaml ?? "";
    const parsed = parseSpecYaml(yaml);
    if ("error" in parsed) return launchPage(c, emptyTrainingForm(), {}, { yaml, yamlError: parsed.error, status: 422 });
    return launchPage(c, parsed.st, {}, { yaml, from: "the pasted YAML" });
  });

  app.post("/training/jobs/:id/rerun", csrf, requireRole("data-scientist"), async (c) => {
    const ctx = pageContext(c, airflow);
    const job = await deps.training.get(c.req.param("id"));
    if (!job) return page(c, ctx, "Job not found", "jobs", <p class="error" role="alert">No job {c.req.param("id")}.</p>, { status: 404 });
    const event = buildEvent("training.requested", { ...job.spec, trigger: { reason: "manual", user: ctx.principal?.name } }, { source: UI_SOURCE, subject: job.model });
    try {
      await deps.bus.emit(event);
    } catch (e) {
      deps.log.error("training request not accepted by the broker", errorFields(e));
      return c.text("The broker did not accept the request; nothing was launched. Try again.", 502);
    }
    const jobId = deps.jobIdForRequest?.(job.model, event.id);
    return navigate(c, jobId ? `/training/jobs/${encodeURIComponent(jobId)}?requested=1` : `/training/jobs?requested=${encodeURIComponent(event.id)}`);
  });

  app.post("/training", csrf, requireRole("data-scientist"), async (c) => {
    const ctx = pageContext(c, airflow);
    const form = await readForm(c);
    const st = readTrainingForm(form);
    const render = (errors: Record<string, readonly string[]>, status: 200 | 422 | 502): Response | Promise<Response> =>
      pageOrFragment(c, ctx, "Launch training", "training", isHtmx(c) ? <TrainingForm st={st} errors={errors} csrf={ctx.csrf} /> : <>
        <h1>Launch training</h1>
        <TrainingForm st={st} errors={errors} csrf={ctx.csrf} />
      </>, { status });
    if (applyTrainingRowOp(form._op, st)) return render({}, 200);
    const result = validateTrainingForm(st);
    if ("errors" in result) return render(result.errors, 422);
    const event = buildEvent("training.requested", { ...result.spec, trigger: { reason: "manual", user: ctx.principal?.name } }, { source: UI_SOURCE, subject: result.spec.model });
    try {
      await deps.bus.emit(event);
    } catch (e) {
      deps.log.error("training request not accepted by the broker", errorFields(e));
      return render({ "(root)": ["The broker did not accept the request; nothing was launched. Try again."] }, 502);
    }
    const jobId = deps.jobIdForRequest?.(result.spec.model, event.id);
    return navigate(c, jobId ? `/training/jobs/${encodeURIComponent(jobId)}?requested=1` : `/training/jobs?requested=${encodeURIComponent(event.id)}`);
  });

  app.get("/training/jobs", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const limit = intParam(c.req.query("limit"), 50, 1, 200);
    const offset = intParam(c.req.query("offset"), 0, 0, 10_000_000);
    const stateQ = c.req.query("state");
    const state = isJobState(stateQ) ? stateQ : undefined;
    const model = c.req.query("model")?.trim() || undefined;
    const rows = await deps.training.list({ state, model, limit: limit + 1, offset });
    const total = deps.training.count ? await deps.training.count({ state, model }) : undefined;
    const jobs = rows.slice(0, limit);
    const live = jobs.some((j) => !isTerminal(j.state));
    const q = { state, model };
    const self = `/training/jobs?${new URLSearchParams(Object.entries({ ...q, offset: String(offset), limit: String(limit) }).filter((e): e is [string, string] => Boolean(e[1]))).toString()}`;
    const table = <JobsTable jobs={jobs} live={live} self={self} />;
    if (isHtmx(c)) return c.html(table);
    const requested = c.req.query("requested");
    return page(c, ctx, "Jobs", "jobs", <>
      <h1>Training jobs</h1>
      {requested ? <p class="flash">Training requested (event <code>{requested}</code>); the job appears here once launched.</p> : null}
      <form method="get" action="/training/jobs" class="row card">
        <label>
          State
          <select name="state">
            <option value="">any</option>
            {["pending", "running", "succeeded", "failed", "cancelled"].map((s) => <option value={s} selected={s === state}>{s}</option>)}
          </select>
        </label>
        <label>
          Model <input type="text" name="model" value={model ?? ""} />
        </label>
        <button type="submit" class="shrink">Filter</button>
      </form>
      {table}
      <Pager base="/training/jobs" query={{ state, model }} offset={offset} limit={limit} hasMore={rows.length > limit} total={total} />
    </>, { refreshWithoutJs: live ? 5 : undefined });
  });

  app.route("/", jobRoutes(deps, airflow));
  return app;
}

/** The jobs table; polls itself while any job on it is still running. */
const JobsTable: FC<{ jobs: readonly JobRecord[]; live: boolean; self: string }> = ({ jobs, live, self }) => (
  <div id="jobs" {...(live ? { "hx-get": self, "hx-trigger": "every 2s", "hx-swap": "outerHTML" } : {})}>
    {jobs.length ? (
      <div class="scroll"><table>
        <thead>
          <tr><th>Job</th><th>Model</th><th>Kind</th><th>State</th><th>Created</th><th>Duration</th><th>Reason</th><th><span class="sr-only">Actions</span></th></tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr data-job={j.id}>
              <td><a href={`/training/jobs/${encodeURIComponent(j.id)}`} class="mono">{j.id}</a></td>
              <td>{j.model}</td>
              <td>{j.kind}</td>
              <td><Badge value={j.state} /></td>
              <td>{fmtTime(j.createdAt)}</td>
              <td>{fmtDuration(j.startedAt, j.finishedAt)}</td>
              <td>{j.failureReason ?? j.trigger.reason}</td>
              <td><a href={`/training?clone=${encodeURIComponent(j.id)}`} aria-label={`Clone job ${j.id}`}>Clone</a></td>
            </tr>
          ))}
        </tbody>
      </table></div>
    ) : (
      <p class="muted">No jobs yet. <a href="/training">Launch one</a>.</p>
    )}
  </div>
);

/** Where a first-time user starts: a shipped example in one click, or a spec pasted as YAML. */
const StartFrom: FC<{ examples: readonly Example[]; csrf: string; yaml: string | undefined; yamlError: string | undefined }> = ({ examples, csrf, yaml, yamlError }) => (
  <div class="card" id="start-from">
    <h2>Start from</h2>
    {examples.length ? (
      <ul class="examples">
        {examples.map((e) => <li><a href={`/training?example=${encodeURIComponent(e.id)}`} data-example={e.id}>{e.title}</a> <span class="muted mono">examples/{e.id}</span></li>)}
      </ul>
    ) : null}
    <form method="post" action="/training/yaml" class="stack" id="yaml-form">
      <Csrf token={csrf} />
      <div class={yamlError ? "field invalid" : "field"}>
        <label for="yaml">…or paste a spec (YAML)</label>
        <textarea name="yaml" id="yaml" rows={8} placeholder={"kind: single\nmodel: iris\ncommand: [node, --import, tsx, examples/iris-node/train.ts]\nparams: {epochs: 200}"} aria-describedby={yamlError ? "yaml-error" : undefined}>{yaml ?? ""}</textarea>
        {yamlError ? <div id="yaml-error" role="alert"><p class="field-error" data-field="yaml">{yamlError}</p></div> : null}
      </div>
      <p><button type="submit" class="secondary" id="use-yaml">Fill the form</button></p>
    </form>
  </div>
);
