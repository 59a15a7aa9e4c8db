// A model's onnxruntime session in worker threads, one session per thread: a model run leaves the event loop free for
// HTTP parsing, health checks and other models' requests (as Triton and MLServer keep request handling and model
// compute apart). A thread that dies fails its in-flight runs with a 503 and is replaced on the next run.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type ort from "onnxruntime-node";
import { UpstreamError } from "../../errors.ts";
import type { SessionRunner, WireTensor } from "./session-runner.ts";

type Metadata = readonly ort.InferenceSession.ValueMetadata[];

type RunResult = { readonly id: number; readonly outputs: Readonly<Record<string, WireTensor>> } | { readonly id: number; readonly error: string };

interface RunMessage {
  readonly id: number;
  readonly feeds: Readonly<Record<string, WireTensor>>;
  readonly outputs: readonly string[];
}

type FromWorker =
  | { readonly kind: "ready"; readonly inputs: Metadata; readonly outputs: Metadata }
  | { readonly kind: "failed"; readonly message: string }
  | { readonly kind: "results"; readonly results: readonly RunResult[] };

/** Buffers from this size on move between threads (transferred); smaller ones are copied, which costs less. */
const TRANSFER_BYTES = 16 * 1024;

/**
 * The thread's code, evaluated as a CommonJS script: a source string rather than a file, so that the function
 * bundles (one function.cjs each, platform/build/bundle.ts) carry it. onnxruntime-node is required by the path the
 * host resolved. Runs arrive only after "ready"; each answers "result" or "error" under its id.
 */
const WORKER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ort);
const text = (e) => (e instanceof Error ? e.message : String(e));
const WHOLE = ${TRANSFER_BYTES};
let session;
ort.InferenceSession.create(workerData.model, workerData.options).then(
  (s) => {
    session = s;
    parentPort.postMessage({ kind: "ready", inputs: s.inputMetadata, outputs: s.outputMetadata });
  },
  (e) => parentPort.postMessage({ kind: "failed", message: text(e) }),
);
async function run(m, transfer) {
  try {
    const feeds = {};
    for (const name of Object.keys(m.feeds)) {
      const t = m.feeds[name];
      feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const result = await session.run(feeds, m.outputs);
    const outputs = {};
    for (const name of m.outputs) {
      const t = result[name];
      if (t === undefined) continue;
      outputs[name] = { type: t.type, dims: t.dims, data: t.data };
      // A large output's own buffer moves to the host instead of being copied.
      const d = t.data;
      if (ArrayBuffer.isView(d) && d.byteLength >= WHOLE && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && !transfer.includes(d.buffer)) transfer.push(d.buffer);
    }
    return { id: m.id, outputs };
  } catch (e) {
    return { id: m.id, error: text(e) };
  }
}
parentPort.on("message", (m) => {
  if (m.kind === "runs") {
    // Every run of the message, then one answer: one wake-up of the host per batch of messages, not per run.
    const transfer = [];
    void Promise.all(m.runs.map((r) => run(r, transfer))).then((results) => parentPort.postMessage({ kind: "results", results }, transfer));
  } else if (m.kind === "release") {
    // Closing the port leaves the thread nothing to wait for: it exits (code 0), which the host awaits.
    void session.release().finally(() => parentPort.close());
  }
});
`;

export interface WorkerPoolOptions {
  /** For error messages: "model iris version 1". */
  readonly label: string;
  readonly model: string | Uint8Array;
  readonly options: ort.InferenceSession.SessionOptions;
  /** Threads, each with its own session. */
  readonly threads: number;
  /** Called with each thread started (the first ones and replacements): tests read its threadId or end it. */
  readonly onWorker?: ((w: Worker) => void) | undefined;
}

interface Pending {
  resolve(outputs: Readonly<Record<string, WireTensor>>): void;
  reject(e: unknown): void;
}

/** Large buffers the runs' feeds own whole, moved to the thread rather than copied (feeds are built per request). */
function transferables(runs: readonly RunMessage[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const r of runs) {
    for (const t of Object.values(r.feeds)) {
      const d = t.data;
      const whole = ArrayBuffer.isView(d) && d.buffer instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength;
      if (whole && d.byteLength >= TRANSFER_BYTES && !out.includes(d.buffer)) out.push(d.buffer);
    }
  }
  return out;
}

const isMessage = (m: unknown): m is FromWorker => typeof m === "object" && m !== null && "kind" in m && typeof m.kind === "string";

/** One worker thread and its session. */
class SessionThread {
  readonly ready: Promise<{ inputs: Metadata; outputs: Metadata }>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #label: string;
  #nextId = 0;
  #outbox: RunMessage[] = [];
  #exited = false;
  #released: (() => void) | undefined;
  #crash: string | undefined;

  constructor(o: WorkerPoolOptions, ortPath: string) {
    this.#label = o.label;
    // execArgv []: not the host's loaders (tsx under tests), which the plain-JS thread does not need.
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { ort: ortPath, model: o.model, options: o.options } });
    o.onWorker?.(this.#worker);
    this.ready = new Promise((resolve, reject) => {
      this.#worker.on("message", (m: unknown) => {
        if (!isMessage(m)) return;
        if (m.kind === "ready") {
          // Held only while runs are pending: an idle model's thread never keeps the process alive.
          this.#worker.unref();
          resolve({ inputs: m.inputs, outputs: m.outputs });
        } else if (m.kind === "failed") {
          reject(new Error(m.message));
          void this.#worker.terminate();
        } else {
          for (const r of m.results) {
            const p = this.#pending.get(r.id);
            this.#pending.delete(r.id);
            if ("error" in r) p?.reject(new Error(r.error));
            else p?.resolve(r.outputs);
          }
          if (this.#pending.size === 0) this.#worker.unref();
        }
      });
      this.#worker.on("error", (e) => (this.#crash = e.message));
      this.#worker.on("exit", (code) => {
        this.#exited = true;
        this.#released?.();
        const why = `${this.#label}: its onnxruntime worker thread exited (code ${code}${this.#crash ? `, ${this.#crash}` : ""})`;
        reject(new UpstreamError(why, true));
        const failed = [...this.#pending.values()];
        this.#pending.clear();
        for (const p of failed) p.reject(new UpstreamError(`${why} before answering; retry`, true));
      });
    });
  }

  get exited(): boolean {
    return this.#exited;
  }

  get pending(): number {
    return this.#pending.size;
  }

  run(feeds: Readonly<Record<string, WireTensor>>, outputs: readonly string[]): Promise<Readonly<Record<string, WireTensor>>> {
    if (this.#exited) return Promise.reject(new UpstreamError(`${this.#label}: its onnxruntime worker thread has exited; retry`, true));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#worker.ref();
      if (this.#outbox.length === 0) setImmediate(this.#flush);
      this.#outbox.push({ id, feeds, outputs });
    });
  }

  /** Runs asked for in one turn of the event loop go in one message (at high concurrency, many per turn). */
  #flush = (): void => {
    const runs = this.#outbox;
    this.#outbox = [];
    if (!this.#exited) this.#worker.postMessage({ kind: "runs", runs }, transferables(runs));
  };

  /** Free the session and end the thread (callers drain runs first); resolves when the thread has exited. */
  release(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.#released = resolve;
      this.#worker.ref();
      this.#worker.postMessage({ kind: "release" });
    });
  }
}

/** A session per thread; each run goes to the thread with the fewest pending, a dead thread is replaced first. */
export class OrtWorkerPool implements SessionRunner {
  readonly inputMetadata: Metadata;
  readonly outputMetadata: Metadata;
  readonly #threads: SessionThread[];
  readonly #opts: WorkerPoolOptions;
  readonly #ortPath: string;

  private constructor(opts: WorkerPoolOptions, ortPath: string, threads: SessionThread[], meta: { inputs: Metadata; outputs: Metadata }) {
    this.#opts = opts;
    this.#ortPath = ortPath;
    this.#threads = threads;
    this.inputMetadata = meta.inputs;
    this.outputMetadata = meta.outputs;
  }

  static async start(opts: WorkerPoolOptions): Promise<OrtWorkerPool> {
    // Resolved here, where the bundle's or the source's own location is known (the bundle keeps onnxruntime-node external).
    const ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");
    const threads = Array.from({ length: Math.max(1, opts.threads) }, () => new SessionThread(opts, ortPath));
    const settled = await Promise.allSettled(threads.map((t) => t.ready));
    const failed = settled.find((s) => s.status === "rejected");
    const first = settled[0];
    if (failed || first?.status !== "fulfilled") {
      await Promise.all(threads.map((t) => t.release()));
      throw failed?.status === "rejected" ? failed.reason : new Error(`${opts.label}: no worker thread started`);
    }
    return new OrtWorkerPool(opts, ortPath, threads, first.value);
  }

  async run(feeds: Readonly<Record<string, WireTensor>>, outputs: readonly string[]): Promise<Readonly<Record<string, WireTensor>>> {
    let at = 0;
    for (let i = 1; i < this.#threads.length; i++) {
      const t = this.#threads[i];
      const best = this.#threads[at];
      if (t && best && (best.exited || (!t.exited && t.pending < best.pending))) at = i;
    }
    let thread = this.#threads[at];
    if (!thread || thread.exited) {
      thread = new SessionThread(this.#opts, this.#ortPath);
      this.#threads[at] = thread;
    }
    try {
      await thread.ready;
    } catch (e) {
      throw new UpstreamError(`${this.#opts.label}: could not restart its onnxruntime worker thread: ${e instanceof Error ? e.message : String(e)}`, true, { cause: e });
    }
    return thread.run(feeds, outputs);
  }

  async release(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.release()));
  }
}
