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
parentPort.on("message", () => {
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    // Under steady writes PASSIVE never reaches the WAL's end (commits land while it copies), so no writer ever
    // restarts the WAL: it grew to the main connection's backstop, whose checkpoint (80 MB, three fsyncs) then ran
    // on the event loop. RESTART finishes the few frames PASSIVE left, holding writers off only for that tail.
    db.pragma("wal_checkpoint(RESTART)");
    parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ error: e instanceof Error ? e.message : String(e) });
  }
});
`;

/** Pages the main connection may let the WAL reach before it checkpoints inline anyway (a stuck worker's backstop). */
const BACKSTOP_PAGES = 20_000;
/**
 * A checkpoint that copies the whole WAL makes the next commit restart it, and SQLite syncs the new WAL header inside
 * that commit, on the event loop (it must: see sqlite.org/src/info/ff5be73dee). Checkpointing every 200 ms put that
 * fsync in a commit five times a second under load; by commit count (or after a quiet spell) it is rare. 1,000 commits
 * of a few pages each stay well below the backstop.
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

  /**
   * Checkpoint after COMMITS_PER_CHECKPOINT commits, or `everyMs` after the last checkpoint if any commit happened
   * (checked every `tickMs`); the main connection's own checkpoint becomes a backstop.
   */
  constructor(db: Database.Database, opts: { everyMs?: number; tickMs?: number; onError: (message: string) => void }) {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.#onError = opts.onError;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER, { eval: true, workerData: { file: db.name, driver } });
    this.#worker.unref();
    this.#worker.on("error", (e) => this.#onError(e.message));
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

  /** Count a commit. */
  touch(): void {
    this.#commits++;
  }

  /** Checkpoint now (PASSIVE: it never waits for writers); resolves with SQLite's page counts. */
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
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    await this.#worker.terminate();
  }
}
