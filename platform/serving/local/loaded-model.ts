// One loaded model version: an onnxruntime session, its V2 metadata, an optional batcher, and in-flight tracking
// so a hot-swap can drain it before releasing the session.
import type { Worker } from "node:worker_threads";
import { ValidationError } from "../../errors.ts";
import { DEFAULT_ONNX_WORKERS, onnxSessionOptions, type OnnxThreading } from "../onnx-options.ts";
import { TensorError } from "../v2/tensor.ts";
import type { InferRequest, ResponseOutput, TensorMetadata } from "../v2/types.ts";
import { AdaptiveBatcher, type BatchingOptions } from "./batcher.ts";
import { fromOrtTensor, sessionMetadata, toFeed, toWireTensor, type Feed } from "./ort-bridge.ts";
import { inlineRunner, type SessionRunner, type WireTensor } from "./session-runner.ts";

export interface LoadOptions {
  readonly name: string;
  readonly version: string;
  /** Path to a .onnx file, or the bytes. */
  readonly model: string | Uint8Array;
  readonly batching?: BatchingOptions | undefined;
  /** Extra metadata parameters (labels, signature column names) surfaced in GET /v2/models/{name}. */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined;
  readonly onBatch?: ((size: number) => void) | undefined;
  /** onnxruntime threads and spin-waiting; DEFAULT_ONNX_THREADING when absent. */
  readonly onnx?: OnnxThreading | undefined;
  /** Worker threads that run the model, each with its own session; 0 runs it on the event loop. DEFAULT_ONNX_WORKERS when absent. */
  readonly workers?: number | undefined;
  /** Called with each worker thread started for this model (tests: its threadId, or ending it). */
  readonly onWorker?: ((w: Worker) => void) | undefined;
}

export class LoadedModel {
  readonly name: string;
  readonly version: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Prometheus labels of this version's requests (and of its answered ones), made once. */
  readonly metricLabels: { readonly model: string; readonly version: string };
  readonly okLabels: { readonly model: string; readonly version: string; readonly code: "200" };
  readonly #runner: SessionRunner;
  readonly #batcher: AdaptiveBatcher | undefined;
  #inFlight = 0;
  #retired = false;
  #drained: (() => void) | undefined;

  private constructor(opts: LoadOptions, runner: SessionRunner) {
    this.name = opts.name;
    this.version = opts.version;
    this.#runner = runner;
    this.inputs = sessionMetadata(runner.inputMetadata);
    this.outputs = sessionMetadata(runner.outputMetadata);
    this.parameters = opts.parameters ?? {};
    this.metricLabels = { model: opts.name, version: opts.version };
    this.okLabels = { ...this.metricLabels, code: "200" };
    const batchable = [...this.inputs, ...this.outputs].every((m) => m.shape[0] === -1);
    this.#batcher =
      opts.batching && opts.batching.maxBatchSize > 1 && batchable
        ? new AdaptiveBatcher(opts.batching, (feeds, outs) => this.#run(feeds, outs), opts.onBatch)
        : undefined;
  }

  static async load(opts: LoadOptions): Promise<LoadedModel> {
    const options = onnxSessionOptions(opts.onnx);
    const workers = opts.workers ?? DEFAULT_ONNX_WORKERS;
    if (workers === 0) return new LoadedModel(opts, await inlineRunner(opts.model, options));
    // Loaded on first use, as onnxruntime is: a cold start with workers off never evaluates it.
    const { OrtWorkerPool } = await import("./ort-worker.ts");
    const label = `model ${opts.name} version ${opts.version}`;
    const runner = await OrtWorkerPool.start({ label, model: opts.model, options, threads: workers, onWorker: opts.onWorker });
    return new LoadedModel(opts, runner);
  }

  get batching(): boolean {
    return this.#batcher !== undefined;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Validate a V2 request against this model's inputs and convert it. Throws ValidationError naming the fields. */
  feeds(req: InferRequest): { feeds: Feed[]; outputs: string[] } {
    const issues: { field: string; message: string }[] = [];
    const feeds: Feed[] = [];
    const given = new Set(req.inputs.map((i) => i.name));
    for (const meta of this.inputs) {
      if (!given.has(meta.name)) issues.push({ field: "inputs", message: `missing input ${meta.name} (${meta.datatype} ${JSON.stringify(meta.shape)})` });
    }
    req.inputs.forEach((input, i) => {
      const meta = this.inputs.find((m) => m.name === input.name);
      if (!meta) {
        issues.push({ field: `inputs[${i}].name`, message: `unknown input ${input.name}; model inputs: ${this.inputs.map((m) => m.name).join(", ")}` });
        return;
      }
      try {
        feeds.push(toFeed(input, meta, `inputs[${i}]`));
      } catch (e) {
        if (e instanceof TensorError) issues.push({ field: e.field, message: e.message });
        else throw e;
      }
    });
    const outputs = (req.outputs ?? []).map((o) => o.name);
    outputs.forEach((o, i) => {
      if (!this.outputs.some((m) => m.name === o)) {
        issues.push({ field: `outputs[${i}].name`, message: `unknown output ${o}; model outputs: ${this.outputs.map((m) => m.name).join(", ")}` });
      }
    });
    if (issues.length) throw new ValidationError(issues);
    return { feeds, outputs: outputs.length ? outputs : this.outputs.map((m) => m.name) };
  }

  /** Run (through the batcher when enabled). Callers hold acquire()/release() around it. */
  infer(feeds: readonly Feed[], outputs: readonly string[]): Promise<ResponseOutput[]> {
    return this.#batcher ? this.#batcher.submit(feeds, outputs) : this.#run(feeds, outputs);
  }

  async #run(feeds: readonly Feed[], outputs: readonly string[]): Promise<ResponseOutput[]> {
    const input: Record<string, WireTensor> = {};
    for (const f of feeds) input[f.name] = toWireTensor(f);
    const result = await this.#runner.run(input, outputs);
    return outputs.map((name) => {
      const t = result[name];
      if (!t) throw new Error(`model produced no output ${name}`);
      return fromOrtTensor(name, t);
    });
  }

  /** false once retired: the caller must look the model up again. */
  acquire(): boolean {
    if (this.#retired) return false;
    this.#inFlight++;
    return true;
  }

  release(): void {
    this.#inFlight--;
    if (this.#retired && this.#inFlight === 0) this.#drained?.();
  }

  /** Stop taking requests, let in-flight ones finish, then free the session. */
  async retire(): Promise<void> {
    if (this.#retired) return;
    this.#retired = true;
    this.#batcher?.flushAll();
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await this.#runner.release();
  }
}
