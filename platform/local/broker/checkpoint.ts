// WAL checkpoints on their own connection in a worker thread: their fsyncs (WAL, then database file) never block the
// broker's event loop, where SQLite's automatic checkpoint would run them inside a commit every 1000 pages.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/** Plain CommonJS so it runs as-is from tsx and from an esbuild bundle (better-sqlite3 stays an external package). */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
// The restart write's own frame needs no fsync at commit: the broker's next group fsync covers it. NORMAL still
// syncs the new WAL header (OFF would not), which is the point of writing here.
db.pragma("synchronous = NORMAL");
const writer = new Int32Array(workerData.writer);
const frames = (r) => ({ log: r.log, checkpointed: r.checkpointed });
parentPort.on("message", () => {
  try {
    // PASSIVE never takes the writer lock: the broker keeps committing while the bulk is copied. A commit that
    // lands meanwhile leaves a tail, which the next pass copies (a few frames, quickly).
    let r = frames(db.pragma("wal_checkpoint(PASSIVE)")[0]);
    for (let pass = 0; pass < 3 && r.checkpointed < r.log; pass++) r = frames(db.pragma("wal_checkpoint(PASSIVE)")[0]);
    if (r.log > 0) {
      // From here this thread holds the writer lock; the broker defers its commits (it reads this flag) rather than
      // sleep in SQLite's busy handler on its event loop.
      Atomics.store(writer, 0, 1);
      try {
        // Under steady writes PASSIVE may never reach the WAL's end, and even when it does the WAL did not restart
        // (it grew to the backstop, whose 80 MB checkpoint then ran on the event loop): RESTART copies what is left
        // (nothing, without a sync, when PASSIVE got to the end) and waits out the readers, so the next write restarts.
        db.pragma("wal_checkpoint(RESTART)");
        // The first write after a full checkpoint restarts the WAL: SQLite writes a new WAL header and must fsync it
        // before the frames that follow (sqlite.org/src/info/ff5be73dee). Made here, that fsync is this thread's,
        // not a broker commit's. Rewriting user_version with its own value writes one page and changes nothing.
        // IMMEDIATE: a deferred transaction that reads first cannot take the lock after a broker commit (SQLITE_BUSY).
        db.transaction(() => db.pragma("user_version = " + Number(db.pragma("user_version", { simple: true })))).immediate();
      } finally {
        Atomics.store(writer, 0, 0);
      }
    }
    parentPort.postMessage(r);
  } catch (e) {
    parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
`;

/** Pages the main connection may let the WAL reach before it checkpoints inline anyway (a stuck worker's backstop). */
const BACKSTOP_PAGES = 20_000;
/**
 * Each checkpoint holds the writer lock for a moment (the restart write, with its header fsync), when a broker commit
 * waits: by commit count (or after a quiet spell) that is rare. 1,000 commits of a few pages each stay well below the
 * backstop.
 */
const COMMITS_PER_CHECKPOINT = 1_000;

export interface CheckpointResult {
  readonly log?: number;
  readonly checkpointed?: number;
  readonly error?: string;
}

export class Checkpointer {
  readonly #worker: Worker;
  readonly #timer: NodeJS.Timeout;
  #commits = 0;
  #completed = 0;
  #lastAt = Date.now();
  #running: Promise<CheckpointResult> | undefined;
  #onError: (message: string) => void;
  /** Set by the worker while it holds (or is about to take) the writer lock. */
  readonly #writer = new Int32Array(new SharedArrayBuffer(4));
  #whenFree: (() => void)[] = [];

  /**
   * Checkpoint after COMMITS_PER_CHECKPOINT commits, or `everyMs` after the last checkpoint if any commit happened
   * (checked every `tickMs`); the main connection's own checkpoint becomes a backstop.
   */
  constructor(db: Database.Database, opts: { everyMs?: number; tickMs?: number; onError: (message: string) => void }) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.#onError = opts.onError;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER, { eval: true, workerData: { file: db.name, driver, writer: this.#writer.buffer } });
    this.#worker.unref();
    this.#worker.on("error", (e) => this.#onError(e.message));
    // A worker that died holding the flag holds no lock any more: nothing may wait on it forever.
    this.#worker.on("exit", () => {
      Atomics.store(this.#writer, 0, 0);
      for (const fn of this.#whenFree.splice(0)) fn();
    });
    const everyMs = opts.everyMs ?? 5_000;
    this.#timer = setInterval(() => {
      if (this.#running || this.#commits === 0) return;
      if (this.#commits >= COMMITS_PER_CHECKPOINT || Date.now() - this.#lastAt >= everyMs) void this.checkpoint();
    }, opts.tickMs ?? 200);
    this.#timer.unref();
  }

  /** Checkpoints finished so far (tests, diagnostics). */
  get completed(): number {
    return this.#completed;
  }

  /** The worker holds the writer lock (or is about to): a commit now would wait for it on the event loop. */
  get writerBusy(): boolean {
    return Atomics.load(this.#writer, 0) !== 0;
  }

  /** Run `fn` once the worker has let go of the writer lock (when its checkpoint ends). */
  whenWriterFree(fn: () => void): void {
    if (!this.writerBusy) {
      fn();
      return;
    }
    this.#whenFree.push(fn);
  }

  /** Count a commit. */
  touch(): void {
    this.#commits++;
  }

  /** Checkpoint now (PASSIVE passes, then a moment under the writer lock to restart the WAL); resolves with SQLite's
   * page counts of the last pass. */
  checkpoint(): Promise<CheckpointResult> {
    if (this.#running) return this.#running;
    this.#commits = 0;
    this.#lastAt = Date.now();
    const done = new Promise<CheckpointResult>((resolve) => {
      const onExit = (): void => resolve({ error: "checkpoint worker exited" });
      this.#worker.once("exit", onExit);
      this.#worker.once("message", (m: CheckpointResult) => {
        this.#worker.off("exit", onExit);
        if (m.error) this.#onError(m.error);
        resolve(m);
      });
      this.#worker.postMessage("checkpoint");
    });
    this.#running = done.finally(() => {
      this.#completed++;
      this.#running = undefined;
      for (const fn of this.#whenFree.splice(0)) fn();
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    await this.#worker.terminate();
  }
}
