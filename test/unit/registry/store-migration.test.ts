// An older store (latest_metrics without its run's scope columns) gains them on open, filled from its runs, and a
// metric-ordered search over it gives the same page as before.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { searchRunRows } from "../../../platform/registry/run-search.ts";
import { col, openStore } from "../../../platform/registry/store.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-migration-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("registry store migration", () => {
  it("fills latest_metrics' experiment, stage and start_time from runs for a store made before them", () => {
    const old = new Database(path.join(dir, "registry.sqlite"));
    old.exec(`CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, name TEXT NOT NULL, experiment_id INTEGER NOT NULL, user_id TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL, start_time INTEGER, end_time INTEGER, artifact_uri TEXT NOT NULL, lifecycle_stage TEXT NOT NULL DEFAULT 'active', deleted_time INTEGER);
      CREATE TABLE latest_metrics (run_uuid TEXT NOT NULL, key TEXT NOT NULL, value REAL, is_nan INTEGER NOT NULL DEFAULT 0,
        timestamp INTEGER NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (run_uuid, key));`);
    const runs: [string, number, string][] = [["a", 30, "active"], ["b", 20, "active"], ["c", 10, "deleted"], ["d", 5, "active"]];
    for (const [id, start, stage] of runs) old.prepare("INSERT INTO runs VALUES (?, ?, 7, '', 'RUNNING', ?, NULL, 'x', ?, NULL)").run(id, id, start, stage);
    for (const [id, v] of [["a", 0.5], ["b", 0.9], ["c", 0.7]] as const) old.prepare("INSERT INTO latest_metrics VALUES (?, 'acc', ?, 0, 1, 0)").run(id, v);
    old.close();
    const db = openStore(dir);
    try {
      expect(db.prepare("SELECT run_uuid, experiment_id, lifecycle_stage, start_time FROM latest_metrics ORDER BY run_uuid").all()).toEqual([
        { run_uuid: "a", experiment_id: 7, lifecycle_stage: "active", start_time: 30 },
        { run_uuid: "b", experiment_id: 7, lifecycle_stage: "active", start_time: 20 },
        { run_uuid: "c", experiment_id: 7, lifecycle_stage: "deleted", start_time: 10 },
      ]);
      const page = searchRunRows(db, { experimentIds: ["7"], view: "ACTIVE_ONLY", clauses: [], order: [{ type: "metric", key: "acc", ascending: false }], limit: 10, offset: 0 });
      expect(page.items.map((r) => col.str(r, "run_uuid"))).toEqual(["b", "a", "d"]);
    } finally {
      db.close();
    }
  });
});
