// The job monitor API (mounted at /api/v1/jobs): list, get with history, logs (SSE or text), cancel, request training.
import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import { streamSSE, streamText } from "hono/streaming";
import { PayloadTooLargeError, toHttpError, ValidationError, type FieldIssue } from "../errors.ts";
import { buildEvent, deriveId } from "../events/envelope.ts";
import { errorFields, type Logger } from "../log.ts";
import { isJobState, isTerminal, type EventBus, type JobRecord, type TrainingBackend } from "../ports.ts";
import { parseTrainingSpecText } from "./spec.ts";
import { jobIdFor } from "./updates.ts";

export const JOBS_API_SOURCE = "/flywheel/api/jobs";
const MAX_SPEC_BYTES = 256 * 1024;
const MAX_TAIL_LINES = 100_000;

export interface JobsApiOptions {
  readonly backend: TrainingBackend;
  readonly bus: EventBus;
  readonly log: Logger;
  /** A job the backend does not know, from elsewhere (Knative: its training.failed event in the shared event log). */
  readonly unknownJob?: ((id: string) => Promise<JobRecord | undefined>) | undefined;
}

/** A job as lists show it: the record without spec and history, plus `reason` (why it ended, if it did). */
export function jobSummary(job: JobRecord): Record<string, unknown> {
  const { spec: _spec, history, ...rest } = job;
  return { ...rest, reason: job.failureReason ?? history.at(-1)?.reason };
}

export function jobsApi(o: JobsApiOptions): Hono {
  const app = new Hono();
  const fail = (c: Context, e: unknown): Response => {
    const { status, body } = toHttpError(e);
    if (status >= 500) o.log.error("jobs api failed", errorFields(e));
    return c.json(body, status as 400);
  };

  app.get("/", async (c) => {
    try {
      const q = c.req.query();
      const issues: FieldIssue[] = [];
      if (q.state !== undefined && !isJobState(q.state)) issues.push({ field: "state", message: "must be pending, running, succeeded, failed or cancelled" });
      const limit = intParam(q.limit, "limit", 1, 500, issues);
      const offset = intParam(q.offset, "offset", 0, 1_000_000, issues);
      if (issues.length) throw new ValidationError(issues);
      const jobs = await o.backend.list({ state: isJobState(q.state) ? q.state : undefined, model: q.model || undefined, limit: limit ?? 50, offset: offset ?? 0 });
      return c.json({ jobs: jobs.map(jobSummary) });
    } catch (e) {
      return fail(c, e);
    }
  });

  app.post("/", async (c) => {
    try {
      const len = Number(c.req.header("content-length") ?? "0");
      if (len > MAX_SPEC_BYTES) throw new PayloadTooLargeError(`spec larger than ${MAX_SPEC_BYTES} bytes`);
      const text = await c.req.text();
      if (Buffer.byteLength(text) > MAX_SPEC_BYTES) throw new PayloadTooLargeError(`spec larger than ${MAX_SPEC_BYTES} bytes`);
      const spec = parseTrainingSpecText(text, c.req.header("content-type") ?? "");
      // A client retrying with the same Idempotency-Key gets the same event id, hence the same job.
      const key = c.req.header("idempotency-key");
      const eventId = key ? deriveId(key, "training.requested") : randomUUID();
      const trigger = { reason: "api" as const, eventId };
      const event = buildEvent("training.requested", { ...spec, trigger }, { source: JOBS_API_SOURCE, id: eventId, subject: spec.model });
      await o.bus.emit(event);
      return c.json({ eventId, jobId: jobIdFor(spec.model, eventId) }, 202);
    } catch (e) {
      return fail(c, e);
    }
  });

  app.get("/:id", async (c) => {
    try {
      const job = (await o.backend.get(c.req.param("id"))) ?? (await o.unknownJob?.(c.req.param("id")));
      if (!job) return c.json({ error: `job ${c.req.param("id")} not found`, code: "NOT_FOUND" }, 404);
      return c.json({ ...job, reason: jobSummary(job).reason });
    } catch (e) {
      return fail(c, e);
    }
  });

  app.post("/:id/cancel", async (c) => {
    try {
      const job = await o.backend.cancel(c.req.param("id"));
      return c.json({ ...job, reason: jobSummary(job).reason });
    } catch (e) {
      return fail(c, e);
    }
  });

  app.get("/:id/logs", async (c) => {
    const id = c.req.param("id");
    let lines: AsyncIterable<string>;
    const abort = new AbortController();
    try {
      const issues: FieldIssue[] = [];
      const rank = intParam(c.req.query("rank"), "rank", 0, 100_000, issues);
      // tail, or a byte range (offset, limit): how a client reads a 100 MB log without taking all of it at once.
      const tail = intParam(c.req.query("tail"), "tail", 0, MAX_TAIL_LINES, issues);
      const offset = intParam(c.req.query("offset"), "offset", 0, Number.MAX_SAFE_INTEGER, issues);
      const limit = intParam(c.req.query("limit"), "limit", 1, Number.MAX_SAFE_INTEGER, issues);
      if (tail !== undefined && offset !== undefined) issues.push({ field: "tail", message: "cannot be combined with offset" });
      if (issues.length) throw new ValidationError(issues);
      const follow = ["1", "true", "yes"].includes(c.req.query("follow") ?? "");
      const job = await o.backend.get(id);
      if (!job) return c.json({ error: `job ${id} not found`, code: "NOT_FOUND" }, 404);
      lines = o.backend.logs(id, { rank: rank ?? 0, follow, signal: abort.signal, tail, offset, limit });
    } catch (e) {
      return fail(c, e);
    }
    const ending = async (): Promise<JobRecord | undefined> => o.backend.get(id);
    if ((c.req.header("accept") ?? "").includes("text/event-stream")) {
      return streamSSE(c, async (sse) => {
        sse.onAbort(() => abort.abort());
        let n = 0;
        try {
          for await (const line of lines) await sse.writeSSE({ data: line, id: String(n++) });
        } catch (e) {
          await sse.writeSSE({ event: "error", data: JSON.stringify({ reason: "LogsUnavailable", message: errorFields(e).message ?? "log stream failed" }) });
          return;
        }
        const job = await ending();
        if (job?.state === "failed") {
          await sse.writeSSE({ event: "error", data: JSON.stringify({ state: job.state, reason: job.failureReason, message: job.message, exitCode: job.exitCode, rank: job.failedRank }) });
        } else {
          await sse.writeSSE({ event: "end", data: JSON.stringify({ state: job?.state ?? "unknown", terminal: job ? isTerminal(job.state) : true }) });
        }
      });
    }
    return streamText(c, async (out) => {
      out.onAbort(() => abort.abort());
      try {
        for await (const line of lines) await out.write(line + "\n");
      } catch (e) {
        await out.write(`[flywheel] log stream failed: ${String(errorFields(e).message ?? "")}\n`);
      }
    });
  });

  return app;
}

function intParam(raw: string | undefined, field: string, min: number, max: number, issues: FieldIssue[]): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    issues.push({ field, message: `must be an integer from ${min} to ${max}` });
    return undefined;
  }
  return n;
}
