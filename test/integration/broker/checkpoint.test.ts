// The broker's WAL checkpoints run in a worker thread on their own connection; the main connection only backstops.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpointer } from "../../../platform/local/broker/checkpoint.ts";
import { openDatabase } from "../../../platform/local/broker/schema.ts";

const dir = mkdtempSync(path.join(tmpdir(), "broker-checkpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Checkpointer", () => {
  it("checkpoints every WAL frame from the worker, and the main connection no longer checkpoints every 1000 pages", async () => {
    const db = openDatabase(path.join(dir, "broker.db"));
    const errors: string[] = [];
    const cp = new Checkpointer(db, { everyMs: 60_000, onError: (m) => errors.push(m) });
    try {
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(20_000);
      db.exec("CREATE TABLE blobs (b BLOB)");
      const insert = db.prepare("INSERT INTO blobs VALUES (randomblob(4000))");
      db.pragma("synchronous = NORMAL");
      for (let i = 0; i < 1500; i++) insert.run();
      // Past 1000 pages the main connection would have checkpointed (and restarted the WAL) on its own.
      const wal = statSync(path.join(dir, "broker.db-wal")).size;
      expect(wal).toBeGreaterThan(1500 * 4000);
      const r = await cp.checkpoint();
      expect(r.error).toBeUndefined();
      expect(r.log).toBeGreaterThan(1000);
      expect(r.checkpointed).toBe(r.log);
      expect(errors).toEqual([]);
    } finally {
      await cp.stop();
      db.close();
    }
  });
});
