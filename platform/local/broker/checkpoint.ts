// WAL checkpoints on their own connection in a worker thread: their fsyncs (WAL, then database file) never block the
// broker's event loop, where SQLite's automatic checkpoint would run them inside a commit every 1000 pages.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/** Plain CommonJS so it runs as-is from tsx and from an esbuild bundle (better-sqlite3 stays an external package). */
const WORKER = `
const fs = require("node:fs");
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
// The restart write's own frame needs no fsync at its commit (the broker's next group fsync covers it, and it changes
// nothing). NORMAL still syncs a new WAL header, which is the point of writing here.
db.pragma("synchronous = NORMAL");
const pause = new Int32Array(new SharedArrayBuffer(4));
const frames = (r) => ({ log: r.log, checkpointed: r.checkpointed });
// Bytes 16-23 of the WAL header: a writer that restarts the WAL draws new salts. Read, not checkpointed, so that
// checking does not copy the restart write's own frame (the next commit would then restart the WAL again).
const walSalts = () => {
  const fd = fs.openSync(workerData.file + "-wal", "r");
  try {
    const b = Buffer.alloc(8);
    fs.readSync(fd, b, 0, 8, 16);
    return b.toString("hex");
  } finally {
    fs.closeSync(fd);
  }
};
parentPort.on("message", (m) => {
  try {
    // PASSIVE never takes the writer lock: the broker keeps committing while the bulk is copied. A commit that lands
    // meanwhile leaves a tail, which the next pass copies (a few frames, quickly).
    let r = frames(db.pragma("wal_checkpoint(PASSIVE)")[0]);
    for (let pass = 0; pass < 20 && r.checkpointed < r.log; pass++) {
      Atomics.wait(pause, 0, 0, 2); // let the commit or read in progress finish
      r = frames(db.pragma("wal_checkpoint(PASSIVE)")[0]);
    }
    if (r.log > 0 && r.checkpointed === r.log) {
      // Fully copied: the next write restarts the WAL, and SQLite must fsync the new WAL header before the frames that
      // follow (sqlite.org/src/info/ff5be73dee). Made here, that fsync is this thread's, not a broker commit's on the
      // event loop. Rewriting user_version with its own value writes one page and changes nothing. The writer lock is
      // held only for that write; a broker commit meeting it waits in SQLite's busy handler (1 ms steps), where
      // RESTART would have held it over two fsyncs. A broker commit that lands first only makes this an append.
      const salts = walSalts();
      db.transaction(() => db.pragma("user_version = " + Number(db.pragma("user_version", { simple: true })))).immediate();
      // A broker commit between the last pass and that write that did not restart the WAL itself made the write an
      // append: the salts stay. A small WAL waits for the next checkpoint; a large one is RESTARTed now, or steady
      // traffic could keep it from restarting until the backstop.
      if (walSalts() === salts && r.log >= m.restartPages) db.pragma("wal_checkpoint(RESTART)");
    } else if (r.log >= m.restartPages) {
      // Steady writes kept PASSIVE from the end and the WAL is large: RESTART finishes under the writer lock, so the
      // next write restarts it (before the main connection's backstop checkpoints 80 MB inside a commit).
      db.pragma("wal_checkpoint(RESTART)");
    }
    parentPort.postMessage(r);
  } catch (e) {
    parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
`;

/** Pages the main connection may let the WAL reach before it checkpoints inline anyway (a stuck worker's backstop). */
const BACKSTOP_PAGES = 20_000;
/** A WAL this large that PASSIVE could not finish is RESTARTed (holding writers off) rather than left to grow. */
const RESTART_PAGES = 4_000;
/**
 * Each checkpoint may still cost a broker commit something on the event loop: a wait in SQLite's busy handler while the
 * worker's restart write holds the lock, or, when a commit lands between the worker's last pass and that write, the
 * new WAL header's fsync inside the commit. So checkpoints are rare while events flow: by commit count (1,000 commits
 * of a few pages each stay well below the backstop), after a quiet spell, or at the latest MAX_INTERVAL_MS after the
 * last one. A clock alone (every 5 s) put one such stall in every 100 events at 20 events/s, which is the p99 itself.
 */
const COMMITS_PER_CHECKPOINT = 1_000;
/** No commit for this long: the broker is quiet, a checkpoint now meets no commit. */
const QUIET_MS = 250;
const MAX_INTERVAL_MS = 60_000;

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
  #lastCommitAt = 0;
  readonly #restartPages: number;
  #running: Promise<CheckpointResult> | undefined;
  #onError: (message: string) => void;

  /**
   * Checkpoint after COMMITS_PER_CHECKPOINT commits, or, if any commit happened, once `everyMs` passed since the last
   * checkpoint and the broker has been quiet for QUIET_MS, or MAX_INTERVAL_MS after it whatever the traffic (checked
   * every `tickMs`); the main connection's own checkpoint becomes a backstop. `quietMs`, `restartPages`: for tests.
   */
  constructor(
    db: Database.Database,
    opts: { everyMs?: number; tickMs?: number; quietMs?: number; restartPages?: number; onError: (message: string) => void },
  ) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.#onError = opts.onError;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER, { eval: true, workerData: { file: db.name, driver } });
    this.#worker.unref();
    this.#worker.on("error", (e) => this.#onError(e.message));
    this.#restartPages = opts.restartPages ?? RESTART_PAGES;
    const everyMs = opts.everyMs ?? 5_000;
    const quietMs = opts.quietMs ?? QUIET_MS;
    this.#timer = setInterval(() => {
      if (this.#running || this.#commits === 0) return;
      const now = Date.now();
      const since = now - this.#lastAt;
      const quiet = now - this.#lastCommitAt >= quietMs;
      if (this.#commits >= COMMITS_PER_CHECKPOINT || (since >= everyMs && quiet) || since >= MAX_INTERVAL_MS) void this.checkpoint();
    }, opts.tickMs ?? 200);
    this.#timer.unref();
  }

  /** Checkpoints finished so far (tests, diagnostics). */
  get completed(): number {
    return this.#completed;
  }

  /** Count a commit. */
  touch(): void {
    this.#commits++;
    this.#lastCommitAt = Date.now();
  }

  /**
   * Checkpoint now: PASSIVE passes (they never wait for writers), then the restart write, or RESTART for a large WAL
   * they could not finish; resolves with SQLite's page counts of the last pass.
   */
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
      this.#worker.postMessage({ restartPages: this.#restartPages });
    });
    this.#running = done.finally(() => {
      this.#completed++;
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    await this.#worker.terminate();
  }
}
