// Group fsync of the WAL on the libuv thread pool: a commit writes its frames (synchronous=NORMAL), then one fsync of
// the WAL, the call SQLite's synchronous=FULL makes inside the commit (strace: fsync, not fdatasync, in this build),
// covers every commit written before it began.
import fs from "node:fs";
import path from "node:path";

/** fs.fsync's shape (tests wrap the real one to count calls, or fail it as a disk would). */
export type SyncFn = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/**
 * SQLite's FULL commit blocks the event loop for the whole fsync (p50 3 ms, p99 hundreds of ms on a busy shared
 * disk): every request and delivery of the process waits behind it. Here the loop keeps running while the disk
 * syncs, and commits that arrive meanwhile share the next fsync (group commit, as PostgreSQL's WAL writer does).
 */
export class WalSync {
  readonly #fd: number;
  readonly #fsync: SyncFn;
  #running = false;
  #waiting: Waiter[] = [];
  #failed: Error | undefined;
  #drained: (() => void)[] = [];

  /** Open the WAL of an open WAL-mode database (it exists while a connection is open); throws if it does not. */
  constructor(dbFile: string, fsync: SyncFn = fs.fsync) {
    this.#fsync = fsync;
    this.#fd = fs.openSync(`${dbFile}-wal`, "r");
    // The WAL may have just been created: its directory entry must be durable too (SQLite syncs the directory on the
    // first sync of a new journal; this fd is not SQLite's).
    const dir = fs.openSync(path.dirname(path.resolve(dbFile)), "r");
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }

  /** Set once an fsync failed: the page cache may have dropped those pages, so nothing is durable any more. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  sync(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      if (!this.#running) this.#run();
    });
  }

  #run(): void {
    const batch = this.#waiting.splice(0);
    this.#running = true;
    this.#fsync(this.#fd, (err) => {
      this.#running = false;
      if (err) {
        // PostgreSQL's lesson (fsyncgate): after a failed fsync a retry may "succeed" with the data gone. Fail for good.
        this.#failed = err;
        for (const w of [...batch, ...this.#waiting.splice(0)]) w.reject(err);
      } else {
        for (const w of batch) w.resolve();
        if (this.#waiting.length > 0) {
          this.#run();
          return;
        }
      }
      for (const d of this.#drained.splice(0)) d();
    });
  }

  /** Wait for the syncs asked for, then close the descriptor. */
  async close(): Promise<void> {
    if (this.#running) await new Promise<void>((resolve) => this.#drained.push(resolve));
    fs.closeSync(this.#fd);
  }
}
