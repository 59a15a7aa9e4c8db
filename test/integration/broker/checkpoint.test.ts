// The broker's WAL checkpoints run in a worker thread on their own connection; the main connection only backstops.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpointer } from "../../../platform/local/broker/checkpoint.ts";
import { openDatabase } from "../../../platform/local/broker/schema.ts";

const dir = mkdtempSync(path.join(tmpdir(), "broker-checkpoint-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes 16-23 of the WAL header are its salts: a writer restarting the WAL after a full checkpoint draws new ones. */
function walSalt(file: string): string {
  const fd = openSync(`${file}-wal`, "r");
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, 16);
    return b.toString("hex");
  } finally {
    closeSync(fd);
  }
}

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

  it("checkpoints after 1,000 commits, not on every tick; the worker itself restarts the WAL (new salt) before the next commit", async () => {
    const file = path.join(dir, "cadence.db");
    const db = openDatabase(file);
    const cp = new Checkpointer(db, { everyMs: 60_000, tickMs: 10, onError: () => undefined });
    const salt = (): string => walSalt(file);
    const ticks = (n: number): Promise<void> => new Promise((r) => setTimeout(r, n * 10));
    try {
      db.exec("CREATE TABLE t (v INTEGER)");
      db.pragma("synchronous = NORMAL"); // 1,000 commits without 1,000 fsyncs
      const insert = db.prepare("INSERT INTO t VALUES (?)");
      const commit = (i: number): void => {
        insert.run(i);
        cp.touch();
      };
      for (let i = 0; i < 999; i++) commit(i);
      const before = salt();
      await ticks(10);
      expect(cp.completed).toBe(0);
      commit(999); // the 1,000th: the next tick checkpoints
      expect(salt()).toBe(before);
      const deadline = Date.now() + 10_000;
      while (cp.completed === 0 && Date.now() < deadline) await ticks(1);
      expect(cp.completed).toBe(1);
      // The worker's restart write made the new WAL header (and its fsync): no broker commit has to.
      const restarted = salt();
      expect(restarted).not.toBe(before);
      insert.run(1000);
      expect(salt()).toBe(restarted);
    } finally {
      await cp.stop();
      db.close();
    }
  });

  it("under steady writes a WAL past restartPages is RESTARTed, so the next writer restarts it (it does not grow to the backstop)", async () => {
    const file = path.join(dir, "steady.db");
    const db = openDatabase(file);
    const cp = new Checkpointer(db, { everyMs: 60_000, restartPages: 100, onError: () => undefined });
    const salt = (): string => walSalt(file);
    try {
      db.exec("CREATE TABLE blobs (b BLOB)");
      db.pragma("synchronous = NORMAL");
      const insert = db.prepare("INSERT INTO blobs VALUES (randomblob(4000))");
      for (let i = 0; i < 500; i++) insert.run();
      const before = salt();
      // Commits keep landing while the worker copies (as ingress traffic does, with gaps between group commits; a
      // loop with none leaves RESTART's busy handler no moment to take the locks): PASSIVE alone never reached the end.
      let done = false;
      const checkpointed = cp.checkpoint().then((r) => {
        done = true;
        return r;
      });
      let during = 0;
      while (!done) {
        insert.run();
        during++;
        await new Promise((r) => setTimeout(r, 1));
      }
      expect((await checkpointed).error).toBeUndefined();
      expect(during).toBeGreaterThan(0);
      insert.run();
      expect(salt()).not.toBe(before);
    } finally {
      await cp.stop();
      db.close();
    }
  });

  it("while commits keep coming it waits for a quiet spell (or 1,000 commits), not only for the clock", async () => {
    const file = path.join(dir, "quiet.db");
    const db = openDatabase(file);
    const cp = new Checkpointer(db, { everyMs: 1, tickMs: 10, quietMs: 1_000, onError: () => undefined });
    try {
      db.exec("CREATE TABLE t (v INTEGER)");
      db.prepare("INSERT INTO t VALUES (1)").run();
      cp.touch();
      await new Promise((r) => setTimeout(r, 100));
      expect(cp.completed).toBe(0); // everyMs passed ten times over, but a commit was 100 ms ago
      const deadline = Date.now() + 10_000;
      while (cp.completed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(cp.completed).toBe(1);
    } finally {
      await cp.stop();
      db.close();
    }
  });
});
