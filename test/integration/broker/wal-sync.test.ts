// The ingest commit's fsync off the event loop: one fsync of the real WAL file covers every commit written before
// it began; a failed one fails every later ask (a retry could "succeed" with the pages gone).
import fs, { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpointer } from "../../../platform/local/broker/checkpoint.ts";
import { openDatabase } from "../../../platform/local/broker/schema.ts";
import { WalSync, type SyncFn } from "../../../platform/local/broker/wal-sync.ts";

const dir = mkdtempSync(path.join(tmpdir(), "broker-wal-sync-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("WalSync", () => {
  it("asks that arrive while an fsync runs share the next one, on the WAL's own inode across checkpoints", async () => {
    const file = path.join(dir, "group.db");
    const db = openDatabase(file);
    const calls: number[] = [];
    const counting: SyncFn = (fd, cb) => {
      calls.push(fd);
      fs.fsync(fd, cb);
    };
    const sync = new WalSync(file, counting);
    const cp = new Checkpointer(db, { everyMs: 60_000, onError: () => undefined });
    try {
      db.exec("CREATE TABLE t (v TEXT)");
      const insert = db.prepare("INSERT INTO t VALUES (?)");
      db.pragma("synchronous = NORMAL");
      const asks: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        insert.run(`row ${i}`);
        asks.push(sync.sync());
      }
      await Promise.all(asks);
      // The first ask starts an fsync at once; the 19 written while it ran wait for one more.
      expect(calls.length).toBe(2);
      const fd = calls[0] ?? -1;
      expect((await cp.checkpoint()).error).toBeUndefined();
      insert.run("after the checkpoint (the WAL restarts)");
      await sync.sync();
      expect(fs.fstatSync(fd).ino).toBe(fs.statSync(`${file}-wal`).ino);
      expect(sync.failed).toBeUndefined();
    } finally {
      await sync.close();
      await cp.stop();
      db.close();
    }
  });

  it("a failed fsync rejects its waiters and every later ask", async () => {
    const file = path.join(dir, "fail.db");
    const db = openDatabase(file);
    const eio: SyncFn = (_fd, cb) => setImmediate(() => cb(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" })));
    const sync = new WalSync(file, eio);
    try {
      await expect(sync.sync()).rejects.toThrow(/EIO/);
      expect(sync.failed?.message).toMatch(/EIO/);
      await expect(sync.sync()).rejects.toThrow(/EIO/);
    } finally {
      await sync.close();
      db.close();
    }
  });
});
