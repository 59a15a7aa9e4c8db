// Knative mode: a training with no object (refused at launch, or its object since deleted) is known by its
// training.failed event, which the event-log function keeps in the shared StateStore; the jobs API and pages answer
// from it, in the list as for one job.
import { NotFoundError } from "../errors.ts";
import { eventType } from "../events/catalogue.ts";
import { deriveId, fromStructured, parseEventAs } from "../events/envelope.ts";
import type { JobFilter, JobRecord, LogOptions, TrainingBackend } from "../ports.ts";
import type { StateStore } from "../state/index.ts";
import { TRAINING_EVENT_SOURCE } from "./events.ts";

/** Failed trainings a list reads from the log at most (the event log's own retention keeps 10 000 events of all kinds). */
const MAX_LOGGED = 1000;

function jobFromEvent(json: string, jobId: string): JobRecord | undefined {
  const raw: unknown = JSON.parse(json);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const { data } = parseEventAs("training.failed", fromStructured(Object.fromEntries(Object.entries(raw))));
  if (data.jobId !== jobId) return undefined;
  return {
    id: data.jobId,
    model: data.model,
    kind: data.kind,
    backend: data.backend,
    state: "failed",
    spec: data.spec,
    trigger: data.trigger,
    // It never started: created and finished at the refusal, as far as anything shared knows.
    createdAt: data.finishedAt,
    finishedAt: data.finishedAt,
    ...(data.exitCode !== undefined ? { exitCode: data.exitCode } : {}),
    ...(data.rank !== undefined ? { failedRank: data.rank } : {}),
    failureReason: data.reason,
    message: data.message,
    ranks: 0,
    ...(data.object ? { object: data.object } : {}),
    history: [{ state: "failed", at: data.finishedAt, reason: data.reason, message: data.message }],
  };
}

/**
 * The failed job as its training.failed event tells it, or undefined when none was logged. The event's id derives
 * from the job id (events.ts), so this is one primary-key read, not a scan.
 */
export async function loggedFailedJob(state: StateStore, jobId: string): Promise<JobRecord | undefined> {
  const row = await state.db
    .selectFrom("event_log")
    .select("event")
    .where("id", "=", deriveId(jobId, "training.failed"))
    .where("source", "=", TRAINING_EVENT_SOURCE)
    .executeTakeFirst();
  return row ? jobFromEvent(row.event, jobId) : undefined;
}

/**
 * Jobs already parsed from logged events, per store, by the row's key. A logged event never changes (record() inserts
 * once per source and id; retention only deletes), so a replica may keep what it parsed: a list then reads the
 * events' bodies and runs the schemas only for failures it has not seen, instead of all of them on every page load.
 */
const parsedByStore = new WeakMap<StateStore, Map<string, JobRecord | null>>();
/** Bodies fetched per query (a bounded IN list). */
const FETCH_CHUNK = 200;

function remember(cache: Map<string, JobRecord | null>, key: string, job: JobRecord | null): void {
  // Oldest first out: what falls out of the log's newest MAX_LOGGED is not asked for again.
  if (cache.size >= 2 * MAX_LOGGED) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, job);
}

/** Logged failed trainings (of one model), newest first, that `known` does not claim; an unreadable event is skipped. */
export async function loggedFailedJobs(state: StateStore, o: { model?: string | undefined; known: (id: string) => Promise<boolean> }): Promise<JobRecord[]> {
  let q = state.db
    .selectFrom("event_log")
    .select(["key", "about_job"])
    .where("source", "=", TRAINING_EVENT_SOURCE)
    .where("type", "=", eventType("training.failed"))
    .orderBy("received_at", "desc")
    .limit(MAX_LOGGED);
  if (o.model) q = q.where("about_model", "=", o.model);
  const unknown: { key: string; jobId: string }[] = [];
  for (const row of await q.execute()) {
    if (row.about_job && !(await o.known(row.about_job))) unknown.push({ key: row.key, jobId: row.about_job });
  }
  let cache = parsedByStore.get(state);
  if (!cache) parsedByStore.set(state, (cache = new Map()));
  const missing = unknown.filter((u) => !cache.has(u.key));
  for (let i = 0; i < missing.length; i += FETCH_CHUNK) {
    const chunk = missing.slice(i, i + FETCH_CHUNK);
    const bodies = new Map((await state.db.selectFrom("event_log").select(["key", "event"]).where("key", "in", chunk.map((u) => u.key)).execute()).map((r) => [r.key, r.event]));
    for (const u of chunk) {
      const body = bodies.get(u.key);
      // Trimmed meanwhile: not remembered, so a later list does not carry it either.
      if (body === undefined) continue;
      let job: JobRecord | null = null;
      try {
        job = jobFromEvent(body, u.jobId) ?? null;
      } catch {
        // An event that no longer parses (an older shape) is not a job the list can show.
      }
      remember(cache, u.key, job);
    }
  }
  const jobs: JobRecord[] = [];
  for (const u of unknown) {
    const job = cache.get(u.key);
    if (job) jobs.push(job);
  }
  return jobs.sort(newestFirst);
}

/** The job store's order: created_at DESC, then id. */
const newestFirst = (a: JobRecord, b: JobRecord): number => b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The first `n` jobs of the backend's list under `filter` (its pages are capped, so read in pages). */
async function firstJobs(backend: TrainingBackend, filter: JobFilter, n: number): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  while (out.length < n) {
    const want = Math.min(500, n - out.length);
    const page = await backend.list({ ...filter, offset: out.length, limit: want });
    out.push(...page);
    if (page.length < want) break;
  }
  return out;
}

/**
 * The backend (a UI replica's watch of the cluster's objects) completed with the trainings only the shared event log
 * knows: get, list (merged in the backend's order, so paging holds), logs and cancel of such a job answer as the
 * embedded backend does for a refused launch, where the job record itself survives the refusal.
 */
export function withLoggedFailures(backend: TrainingBackend, state: StateStore): TrainingBackend {
  const logged = async (id: string): Promise<JobRecord> => {
    const job = await loggedFailedJob(state, id);
    if (!job) throw new NotFoundError(`job ${id} not found`);
    return job;
  };
  async function* failureLines(id: string): AsyncGenerator<string> {
    const job = await logged(id);
    yield `[flywheel] launch failed: ${job.failureReason ?? "Failed"}: ${job.message ?? ""}`;
  }
  return {
    name: backend.name,
    launch: (req) => backend.launch(req),
    get: async (id) => (await backend.get(id)) ?? (await loggedFailedJob(state, id)),
    async list(filter: JobFilter = {}) {
      if (filter.state && filter.state !== "failed") return backend.list(filter);
      const extra = await loggedFailedJobs(state, { model: filter.model, known: async (id) => (await backend.get(id)) !== undefined });
      if (!extra.length) return backend.list(filter);
      const offset = filter.offset ?? 0;
      const limit = filter.limit ?? 50;
      const known = await firstJobs(backend, { ...filter, offset: 0 }, offset + limit);
      return [...known, ...extra].sort(newestFirst).slice(offset, offset + limit);
    },
    logs(id: string, opts?: LogOptions) {
      try {
        // The backend validates at once (an unknown job, a bad rank): keep that for the jobs it knows.
        return backend.logs(id, opts);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        return failureLines(id);
      }
    },
    async cancel(id) {
      try {
        return await backend.cancel(id);
      } catch (e) {
        // Nothing to cancel: the training ended at its refusal (as cancelling any finished job answers it as it is).
        if (e instanceof NotFoundError) return logged(id);
        throw e;
      }
    },
  };
}
