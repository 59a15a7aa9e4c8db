// `flywheel train | jobs | logs | cancel`: the training side of the CLI, over /api/v1/jobs.
import { isTerminal, isJobState, type JobState } from "../../ports.ts";
import { ValidationError } from "../../errors.ts";
import { common } from "../args.ts";
import { ApiClient } from "../client.ts";
import { table, type Out } from "../output.ts";
import { parseCommand } from "../args.ts";
import { readSpecDocuments } from "../spec-file.ts";

interface JobSummary {
  id: string;
  state: JobState;
  kind: string;
  model: string;
  reason?: string;
  createdAt: number;
  failureReason?: string;
  message?: string;
  trigger?: { reason: string };
}

export function clientFrom(c: { url: string | undefined; token: string | undefined }): ApiClient {
  return new ApiClient({ url: c.url ?? "http://127.0.0.1:8080", token: c.token });
}

export async function train(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseCommand(argv, { spec: { type: "string" }, wait: { type: "boolean", default: false } });
  const c = common(values, env);
  if (!values.spec) throw new ValidationError([{ field: "--spec", message: "is required (a YAML or JSON training spec)" }]);
  const [spec] = readSpecDocuments(values.spec);
  const api = clientFrom(c);
  const res = await api.request<{ jobId: string; eventId: string }>("POST", "/api/v1/jobs", spec);
  if (!values.wait) {
    if (c.json) out.json(res);
    else out.line(res.jobId);
    return 0;
  }
  if (!c.json) out.line(res.jobId);
  const job = await waitForJob(api, res.jobId);
  if (c.json) out.json(job);
  else out.line(`${job.state}${job.failureReason ? ` (${job.failureReason}: ${job.message ?? ""})` : ""}`);
  return job.state === "succeeded" ? 0 : 1;
}

export async function waitForJob(api: ApiClient, id: string, timeoutMs = 3_600_000): Promise<JobSummary> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.raw("GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
    // 404 right after the request: the broker has not delivered training.requested yet.
    if (res.ok) {
      const job = (await res.json()) as JobSummary;
      if (isTerminal(job.state)) return job;
    } else if (res.status !== 404) {
      throw new Error(`GET job ${id}: HTTP ${res.status}`);
    }
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish in time`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function jobs(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values } = parseCommand(argv, { state: { type: "string" }, model: { type: "string" }, limit: { type: "string" } });
  const c = common(values, env);
  if (values.state && !isJobState(values.state)) {
    throw new ValidationError([{ field: "--state", message: "must be pending, running, succeeded, failed or cancelled" }]);
  }
  const q = new URLSearchParams();
  if (values.state) q.set("state", values.state);
  if (values.model) q.set("model", values.model);
  if (values.limit) q.set("limit", values.limit);
  const res = await clientFrom(c).request<{ jobs: JobSummary[] }>("GET", `/api/v1/jobs?${q}`);
  if (c.json) out.json(res.jobs);
  else {
    const rows = res.jobs.map((j) => ({ ...j, trigger: j.trigger?.reason }));
    out.line(table(rows, ["id", "state", "kind", "model", "trigger", "reason", "createdAt"]));
  }
  return 0;
}

export async function logs(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseCommand(argv, { rank: { type: "string" }, follow: { type: "boolean", short: "f", default: false } });
  const c = common(values, env);
  const id = positionals[0];
  if (!id) throw new ValidationError([{ field: "ID", message: "job id is required: flywheel logs ID [--rank N] [--follow]" }]);
  const q = new URLSearchParams();
  if (values.rank) q.set("rank", values.rank);
  if (values.follow) q.set("follow", "1");
  const res = await clientFrom(c).raw("GET", `/api/v1/jobs/${encodeURIComponent(id)}/logs?${q}`, undefined, { accept: "text/plain" });
  if (!res.ok || !res.body) {
    out.error(`HTTP ${res.status}: ${await res.text()}`);
    return 1;
  }
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const l of lines) out.line(l);
  }
  if (buffered) out.line(buffered);
  return 0;
}

export async function cancel(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  const c = common(values, env);
  const id = positionals[0];
  if (!id) throw new ValidationError([{ field: "ID", message: "job id is required: flywheel cancel ID" }]);
  const job = await clientFrom(c).request<JobSummary>("POST", `/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
  if (c.json) out.json(job);
  else out.line(`${job.id} ${job.state}`);
  return 0;
}
