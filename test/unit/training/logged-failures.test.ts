// The refused trainings a Knative jobs list reads from the shared event log: newest first, the ones a watch knows left
// out, unreadable events skipped; each logged event is parsed once per replica (events never change once logged), and
// one trimmed from the log leaves the list even after it was parsed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StateEventLog } from "../../../platform/eventing/event-log.ts";
import { buildEvent, deriveId } from "../../../platform/events/envelope.ts";
import { openSqliteState, type StateStore } from "../../../platform/state/index.ts";
import { TRAINING_EVENT_SOURCE } from "../../../platform/training/events.ts";
import { loggedFailedJobs } from "../../../platform/training/logged-failures.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-logged-failures-"));
let state: StateStore;

beforeAll(async () => {
  state = await openSqliteState(path.join(dir, "state.db"));
  const log = new StateEventLog(state);
  for (const [i, model] of ["iris", "blobs", "iris"].entries()) {
    const jobId = `job-${i}`;
    const data = { jobId, model, kind: "single" as const, backend: "kubernetes" as const, trigger: { reason: "api" as const }, spec: { model, image: "img:1", command: ["python3", "t.py"] }, reason: "SubmissionFailed", message: `denied ${i}`, logTail: "", finishedAt: 1_000 + i };
    await log.record(buildEvent("training.failed", data, { source: TRAINING_EVENT_SOURCE, id: deriveId(jobId, "training.failed") }), 1_000 + i);
  }
  // An event logged in a shape no longer read (its data fails the schema): skipped, not a crash.
  const odd = buildEvent("training.failed", { jobId: "job-odd", model: "iris", kind: "single", backend: "kubernetes", trigger: { reason: "api" }, spec: { model: "iris", image: "img:1", command: ["x"] }, reason: "R", message: "", logTail: "", finishedAt: 999 }, { source: TRAINING_EVENT_SOURCE, id: deriveId("job-odd", "training.failed") });
  await log.record(odd, 999);
  await state.db.updateTable("event_log").set({ event: JSON.stringify({ specversion: "1.0", id: odd.id, source: odd.source, type: odd.type, data: { jobId: "job-odd" } }) }).where("id", "=", odd.id).execute();
});

afterAll(async () => {
  await state.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const none = async (): Promise<boolean> => false;

describe("loggedFailedJobs", () => {
  it("lists the logged failures newest first, by model, without those a watch knows, skipping unreadable events", async () => {
    expect((await loggedFailedJobs(state, { known: none })).map((j) => [j.id, j.model, j.message])).toEqual([["job-2", "iris", "denied 2"], ["job-1", "blobs", "denied 1"], ["job-0", "iris", "denied 0"]]);
    expect((await loggedFailedJobs(state, { model: "iris", known: none })).map((j) => j.id)).toEqual(["job-2", "job-0"]);
    expect((await loggedFailedJobs(state, { known: async (id) => id === "job-2" })).map((j) => j.id)).toEqual(["job-1", "job-0"]);
    expect((await loggedFailedJobs(state, { known: none }))[0]).toMatchObject({ state: "failed", failureReason: "SubmissionFailed", createdAt: 1_002, finishedAt: 1_002, ranks: 0 });
  });

  it("parses each logged event once, and drops one the log no longer holds", async () => {
    await loggedFailedJobs(state, { known: none });
    // Overwrite a parsed event's body: a list that parsed it again would now skip it, as it skips job-odd.
    await state.db.updateTable("event_log").set({ event: "{}" }).where("id", "=", deriveId("job-1", "training.failed")).execute();
    expect((await loggedFailedJobs(state, { known: none })).map((j) => j.id)).toEqual(["job-2", "job-1", "job-0"]);
    // Retention deleted it: gone from the list though parsed.
    await state.db.deleteFrom("event_log").where("id", "=", deriveId("job-0", "training.failed")).execute();
    expect((await loggedFailedJobs(state, { known: none })).map((j) => j.id)).toEqual(["job-2", "job-1"]);
    // Another store (another database) shares nothing with this one's parsed events.
    const other = await openSqliteState(path.join(dir, "other.db"));
    expect(await loggedFailedJobs(other, { known: none })).toEqual([]);
    await other.close();
  });
});
