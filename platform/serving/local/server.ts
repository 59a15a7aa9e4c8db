// The embedded V2 inference server core: models from the repository, plus composites (pipelines, experiments)
// that the LocalServingBackend registers under their deployment names. Routes live in routes.ts.
import { randomUUID } from "node:crypto";
import type { Registry } from "prom-client";
import { NotFoundError, isKnownError } from "../../errors.ts";
import type { OnnxThreading } from "../onnx-options.ts";
import type { InferRequest, InferResponse, ModelMetadata, ServerMetadata } from "../v2/types.ts";
import type { BatchingOptions } from "./batcher.ts";
import type { LoadOptions, LoadedModel } from "./loaded-model.ts";
import { createServingMetrics, type ServingMetrics } from "./metrics.ts";
import { ModelRepository } from "./repository.ts";

export interface InferOutcome {
  readonly response: InferResponse;
  /** Response headers, e.g. the experiment route that answered. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A pipeline or experiment served under a name, as Seldon serves `name.pipeline` / experiments. */
export interface Composite {
  readonly kind: "pipeline" | "experiment";
  metadata(): ModelMetadata;
  ready(): boolean;
  infer(req: InferRequest, headers: Readonly<Record<string, string>>): Promise<InferOutcome>;
}

export interface EmbeddedV2ServerOptions {
  readonly registry: Registry;
  /** Default adaptive batching for models loaded without their own setting. */
  readonly batching?: BatchingOptions | undefined;
  /** onnxruntime threads and spin-waiting for models loaded without their own (config.serving.onnx). */
  readonly onnx?: OnnxThreading | undefined;
  /** Worker threads per model for models loaded without their own (config.serving.onnxWorkers; 0 = on the event loop). */
  readonly onnxWorkers?: number | undefined;
  readonly name?: string;
  readonly version?: string;
}

/** Header that carries the experiment candidate that answered; sent back by callers for sticky routing. */
export const ROUTE_HEADER = "x-flywheel-route";
/** Seldon's equivalent, accepted for sticky routing too. */
export const SELDON_ROUTE_HEADER = "x-seldon-route";

// Which candidate a failed experiment request went to, so the error response names it too (as Seldon's does): infer
// counts the failure against that candidate. A WeakMap keeps the error's own class and status untouched.
const failedRoutes = new WeakMap<object, string>();
/** Remember that `e` came from `candidate` (objects only; other throwables carry no route). */
export function markRoute(e: unknown, candidate: string): void {
  if (typeof e === "object" && e !== null && !failedRoutes.has(e)) failedRoutes.set(e, candidate);
}
/** The route headers of a failed request, if it went through an experiment. */
export function routeHeadersOf(e: unknown): Record<string, string> {
  const route = typeof e === "object" && e !== null ? failedRoutes.get(e) : undefined;
  return route ? { [ROUTE_HEADER]: route, [SELDON_ROUTE_HEADER]: `:${route}:` } : {};
}

export class EmbeddedV2Server {
  readonly models = new ModelRepository();
  readonly metrics: ServingMetrics;
  readonly #composites = new Map<string, Composite>();
  readonly #opts: EmbeddedV2ServerOptions;

  constructor(opts: EmbeddedV2ServerOptions) {
    this.#opts = opts;
    this.metrics = createServingMetrics(opts.registry);
  }

  metadata(): ServerMetadata {
    return { name: this.#opts.name ?? "flywheel", version: this.#opts.version ?? "0.1.0", extensions: ["model_repository", "adaptive_batching", "pipelines", "experiments"] };
  }

  /** Load (or hot-swap) a model version, with the server's default batching unless given. */
  loadModel(opts: LoadOptions): Promise<LoadedModel> {
    const batching = opts.batching ?? this.#opts.batching;
    return this.models.load({
      ...opts,
      batching,
      onnx: opts.onnx ?? this.#opts.onnx,
      workers: opts.workers ?? this.#opts.onnxWorkers,
      onBatch: (size) => this.metrics.batchSize.observe({ model: opts.name, version: opts.version }, size),
    });
  }

  setComposite(name: string, c: Composite): void {
    this.#composites.set(name, c);
  }

  deleteComposite(name: string): void {
    this.#composites.delete(name);
  }

  names(): string[] {
    return [...new Set([...this.models.names(), ...this.#composites.keys()])].sort();
  }

  modelMetadata(name: string, version?: string): ModelMetadata {
    const composite = version === undefined ? this.#composites.get(name) : undefined;
    if (composite) return composite.metadata();
    const m = this.models.get(name, version);
    if (!m) throw this.#notFound(name, version);
    const meta: ModelMetadata = {
      name,
      versions: this.models.versions(name),
      platform: "onnxruntime_onnx",
      inputs: [...m.inputs],
      outputs: [...m.outputs],
    };
    if (Object.keys(m.parameters).length) meta.parameters = { ...m.parameters };
    return meta;
  }

  isReady(name: string, version?: string): boolean {
    const composite = version === undefined ? this.#composites.get(name) : undefined;
    if (composite) return composite.ready();
    return this.models.get(name, version) !== undefined;
  }

  /** Whether infer on this name reads the request headers (an experiment's sticky routing); models never do. */
  readsHeaders(name: string, version?: string): boolean {
    return version === undefined && this.#composites.has(name);
  }

  exists(name: string, version?: string): boolean {
    return (version === undefined && this.#composites.has(name)) || this.models.get(name, version) !== undefined;
  }

  /** Infer on a model, pipeline or experiment. Records latency and status per model and version. */
  async infer(name: string, version: string | undefined, req: InferRequest, headers: Readonly<Record<string, string>> = {}): Promise<InferOutcome> {
    const composite = version === undefined ? this.#composites.get(name) : undefined;
    if (composite) return composite.infer(req, headers);
    const found = this.models.get(name, version);
    // A loaded model's label objects are built once (the request path made three objects and a timer closure per call).
    // A name nothing serves is counted without it: the URL's name is the caller's text, and one series per name sent
    // would let anyone grow Prometheus without bound. (An empty label value is an absent label to Prometheus.)
    const labels = found?.metricLabels ?? { model: "", version: "" };
    const started = performance.now();
    let code = "200";
    try {
      if (!found) throw this.#notFound(name, version);
      const response = await this.models.use(name, version, async (m) => {
        const { feeds, outputs } = m.feeds(req);
        const outs = await m.infer(feeds, outputs);
        const res: InferResponse = { model_name: name, model_version: m.version, id: req.id ?? randomUUID(), outputs: outs };
        if (req.parameters) res.parameters = { ...req.parameters };
        return res;
      });
      return { response, headers: {} };
    } catch (e) {
      code = String(isKnownError(e) ? e.status : 500);
      throw e;
    } finally {
      this.metrics.duration.observe(labels, (performance.now() - started) / 1000);
      this.metrics.requests.inc(code === "200" && found ? found.okLabels : { ...labels, code });
    }
  }

  #notFound(name: string, version: string | undefined): NotFoundError {
    const known = this.names();
    const what = version === undefined ? `model ${name}` : `model ${name} version ${version}`;
    return new NotFoundError(`${what} not found; loaded: ${known.length ? known.join(", ") : "(none)"}`);
  }

  async close(): Promise<void> {
    this.#composites.clear();
    await this.models.close();
  }
}
