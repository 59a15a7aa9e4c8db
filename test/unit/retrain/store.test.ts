// The two RetrainStore implementations behave the same; SQLite keeps decisions and trainings across a reopen.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryRetrainStore, SqliteRetrainStore, type RetrainStore } from "../../../functions/retrain-on-drift/store.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-retrain-store-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const stores: [string, () => RetrainStore][] = [
  ["memory", () => new MemoryRetrainStore()],
  ["sqlite", () => new SqliteRetrainStore(path.join(dir, `${crypto.randomUUID()}.sqlite`))],
];

const decision = (key: string, emitted = false) => ({ causeKey: key, model: "iris", decision: "started" as const, reason: "started", at: 1, events: [{ id: `ev-${key}`, type: "t" }], emitted });
const training = (id: string, cause: string, requestedAt: number) => ({ trainingEventId: id, model: "iris", reason: "drift" as const, causeEventId: cause, requestedAt, staleAt: requestedAt + 1000 });

describe.each(stores)("%s RetrainStore", (_name, make) => {
  it("records a decision once, with its events, and marks it emitted", () => {
    const s = make();
    s.recordDecision(decision("a"), training("t1", "c1", 100));
    s.recordDecision({ ...decision("a"), reason: "other" }, training("t1", "c1", 100));
    expect(s.getDecision("a")).toMatchObject({ reason: "started", emitted: false, events: [{ id: "ev-a", type: "t" }] });
    s.markEmitted("a");
    expect(s.getDecision("a")?.emitted).toBe(true);
    expect(s.getDecision("b")).toBeUndefined();
    expect(s.trainings("iris", 0)).toHaveLength(1);
    s.close();
  });

  it("lists recent or unfinished trainings and finishes them by cause", () => {
    const s = make();
    s.recordDecision(decision("a"), training("old-done", "c0", 10));
    s.recordDecision(decision("b"), training("old-running", "c1", 20));
    s.recordDecision(decision("c"), training("new", "c2", 500));
    expect(s.finishTraining("iris", "c0", "succeeded", 30)).toBe(true);
    expect(s.finishTraining("iris", "nope", "failed", 30)).toBe(false);
    expect(s.finishTraining("wine", "c1", "failed", 30)).toBe(false);
    expect(s.trainings("iris", 100).map((t) => t.trainingEventId).sort()).toEqual(["new", "old-running"]);
    // A second outcome for the same training does not overwrite the first.
    s.finishTraining("iris", "c0", "failed", 99);
    expect(s.trainings("iris", 0).find((t) => t.trainingEventId === "old-done")).toMatchObject({ outcome: "succeeded", finishedAt: 30 });
    s.close();
  });
});

it("SQLite state survives a reopen", () => {
  const file = path.join(dir, "reopen.sqlite");
  const a = new SqliteRetrainStore(file);
  a.recordDecision(decision("k", true), training("t", "c", 5));
  a.close();
  const b = new SqliteRetrainStore(file);
  expect(b.getDecision("k")?.emitted).toBe(true);
  expect(b.trainings("iris", 0)).toEqual([expect.objectContaining({ trainingEventId: "t", causeEventId: "c", requestedAt: 5, staleAt: 1005 })]);
  b.close();
});
