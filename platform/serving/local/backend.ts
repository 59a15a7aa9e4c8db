// LocalServingBackend: the ServingBackend port on the embedded V2 server (models in-process, pipelines through the
// executor, experiments through the router), with deploy-time validation and deployments persisted across restarts.
import fs from "node:fs";
import path from "node:path";
import { ConflictError, NotFoundError, ValidationError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { ApplyContext, DeploymentStatus, InferenceTarget, ResolvedModel, ServingBackend } from "../../ports.ts";
import type { DeploymentSpec, ModelDeployment } from "../../specs/deployment.ts";
import { readMlModel } from "../mlmodel.ts";
import { validateDeployment } from "../validate.ts";
import { ExperimentRouter, type CandidateStats } from "./experiment.ts";
import { PipelineExecutor } from "./pipeline.ts";
import type { EmbeddedV2Server } from "./server.ts";
import { DeploymentStore, type StoredDeployment } from "./store.ts";

export interface LocalServingBackendOptions {
  readonly server: EmbeddedV2Server;
  /** Where deployments.json lives (e.g. `${dataDir}/serving`); undefined = not persisted. */
  readonly stateDir?: string | undefined;
  /** Base URL of this process's V2 server, returned by target(). */
  readonly baseUrl?: string | undefined;
  readonly now?: (() => number) | undefined;
  /** Random source for experiment routing, [0, 1). */
  readonly random?: (() => number) | undefined;
  readonly log?: Logger | undefined;
}

const ORDER = { model: 0, pipeline: 1, experiment: 2 } as const;

export class LocalServingBackend implements ServingBackend {
  readonly name = "local";
  readonly #opts: LocalServingBackendOptions;
  readonly #server: EmbeddedV2Server;
  readonly #store: DeploymentStore;
  readonly #deployments = new Map<string, StoredDeployment>();
  readonly #routers = new Map<string, ExperimentRouter>();

  constructor(opts: LocalServingBackendOptions) {
    this.#opts = opts;
    this.#server = opts.server;
    this.#store = new DeploymentStore(opts.stateDir);
  }

  /** Re-apply persisted deployments (models, then pipelines, then experiments). Failures become failed statuses. */
  async restore(): Promise<DeploymentStatus[]> {
    const stored = this.#store.load().sort((a, b) => ORDER[a.spec.kind] - ORDER[b.spec.kind]);
    const out: DeploymentStatus[] = [];
    for (const d of stored) {
      try {
        out.push(await this.apply(d.spec, d.ctx));
      } catch (e) {
        this.#opts.log?.warn("could not restore deployment", { name: d.spec.name, message: e instanceof Error ? e.message : String(e) });
        const failed = this.#status(d.spec, d.ctx, "failed", "RestoreFailed", e instanceof Error ? e.message : String(e));
        this.#deployments.set(d.spec.name, { spec: d.spec, ctx: d.ctx, status: failed });
        out.push(failed);
      }
    }
    this.#persist();
    return out;
  }

  #kindOf = (name: string): DeploymentSpec["kind"] | undefined => {
    const d = this.#deployments.get(name);
    return d && d.status.state !== "failed" ? d.spec.kind : undefined;
  };

  async apply(spec: DeploymentSpec, ctx: ApplyContext): Promise<DeploymentStatus> {
    const existing = this.#deployments.get(spec.name);
    if (existing && existing.status.state === "ready" && existing.status.revision === ctx.revision && JSON.stringify(existing.spec) === JSON.stringify(spec)) {
      return existing.status;
    }
    validateDeployment(spec, (n) => (n === spec.name ? undefined : this.#kindOf(n)));
    if (existing && existing.spec.kind !== spec.kind) this.#assertUnreferenced(spec.name);
    if (spec.kind === "model") await this.#applyModel(spec, ctx);
    if (spec.kind === "pipeline") {
      this.#routers.delete(spec.name);
      this.#server.setComposite(
        spec.name,
        new PipelineExecutor(spec, {
          runModel: async (m, req) => (await this.#server.infer(m, undefined, req)).response,
          modelMetadata: (m) => (this.#server.exists(m) ? this.#server.modelMetadata(m) : undefined),
          ready: (m) => this.#server.isReady(m),
        }),
      );
    } else if (spec.kind === "experiment") {
      const router = new ExperimentRouter(spec, {
        call: (target, req, headers) => this.#server.infer(target, undefined, req, headers),
        metadata: (m) => (this.#server.exists(m) ? this.#server.modelMetadata(m) : undefined),
        ready: (m) => this.#server.isReady(m),
        metrics: this.#server.metrics,
        random: this.#opts.random,
      });
      this.#routers.set(spec.name, router);
      this.#server.setComposite(spec.name, router);
    } else {
      this.#routers.delete(spec.name);
      this.#server.deleteComposite(spec.name);
    }
    // A model turned into a pipeline or experiment: the composite already answers under the name (it wins the
    // lookup), so unloading the old model now leaves no gap.
    if (spec.kind !== "model" && this.#server.models.get(spec.name)) await this.#server.models.unload(spec.name);
    const status = this.#status(spec, ctx, "ready");
    this.#deployments.set(spec.name, { spec, ctx, status });
    this.#persist();
    return status;
  }

  async #applyModel(spec: ModelDeployment, ctx: ApplyContext): Promise<void> {
    const resolved = ctx.models[spec.name];
    if (!resolved) throw new ValidationError([{ field: `models.${spec.name}`, message: "no registry version was resolved for this model" }]);
    const file = onnxFileOf(resolved);
    await this.#server.loadModel({
      name: spec.name,
      version: resolved.version,
      model: file,
      parameters: {
        registered_model: resolved.model,
        ...(resolved.labels ? { labels: [...resolved.labels] } : {}),
        ...(resolved.signature ? { columns: resolved.signature.inputs.map((i) => i.name), signature: resolved.signature } : {}),
      },
    });
    // Replace: the new version serves from now on; older versions drain and unload.
    for (const v of this.#server.models.versions(spec.name)) if (v !== resolved.version) await this.#server.models.unload(spec.name, v);
  }

  async remove(name: string): Promise<void> {
    const d = this.#deployments.get(name);
    if (!d) return;
    this.#assertUnreferenced(name);
    this.#server.deleteComposite(name);
    this.#routers.delete(name);
    await this.#server.models.unload(name);
    this.#deployments.delete(name);
    this.#persist();
  }

  #assertUnreferenced(name: string): void {
    for (const d of this.#deployments.values()) {
      const refs =
        d.spec.kind === "pipeline"
          ? d.spec.steps.map((s) => s.name)
          : d.spec.kind === "experiment"
            ? [...d.spec.candidates.map((c) => c.name), ...(d.spec.mirror ? [d.spec.mirror.name] : [])]
            : [];
      if (d.spec.name !== name && refs.includes(name)) throw new ConflictError(`${name} is used by ${d.spec.kind} ${d.spec.name}; remove that first`);
    }
  }

  async get(name: string): Promise<DeploymentStatus | undefined> {
    return this.#deployments.get(name)?.status;
  }

  async list(): Promise<DeploymentStatus[]> {
    return [...this.#deployments.values()].map((d) => d.status).sort((a, b) => a.name.localeCompare(b.name));
  }

  render(spec: DeploymentSpec, ctx: ApplyContext): Record<string, unknown>[] {
    const kind = { model: "EmbeddedModel", pipeline: "EmbeddedPipeline", experiment: "EmbeddedExperiment" }[spec.kind];
    const resolved = spec.kind === "model" ? ctx.models[spec.name] : undefined;
    return [
      {
        apiVersion: "serving.flywheel.dev/v1",
        kind,
        metadata: { name: spec.name, annotations: { "flywheel.dev/revision": ctx.revision } },
        spec: resolved ? { ...spec, version: resolved.version, storageUri: resolved.storageUri } : spec,
      },
    ];
  }

  async target(name: string): Promise<InferenceTarget> {
    if (!this.#deployments.has(name)) {
      throw new NotFoundError(`deployment ${name} not found; deployed: ${[...this.#deployments.keys()].sort().join(", ") || "(none)"}`);
    }
    return { url: this.#opts.baseUrl ?? "http://127.0.0.1:8080", model: name, headers: {} };
  }

  /** Per-candidate request/error/latency counts of an experiment (the canary rollout reads them). */
  stats(name: string): Record<string, CandidateStats> | undefined {
    return this.#routers.get(name)?.stats();
  }

  router(name: string): ExperimentRouter | undefined {
    return this.#routers.get(name);
  }

  #status(spec: DeploymentSpec, ctx: ApplyContext, state: DeploymentStatus["state"], reason?: string, message?: string): DeploymentStatus {
    const resolved = spec.kind === "model" ? ctx.models[spec.name] : undefined;
    const ready = state === "ready";
    return {
      name: spec.name,
      kind: spec.kind,
      backend: "local",
      ...(resolved ? { model: resolved.model, version: resolved.version } : {}),
      revision: ctx.revision,
      endpoint: `/v2/models/${spec.name}/infer`,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      warnings: [],
      state,
      conditions: [{ type: "Ready", status: ready ? "True" : "False", ...(reason ? { reason } : {}), ...(message ? { message } : {}) }],
      spec,
      updatedAt: (this.#opts.now ?? Date.now)(),
    };
  }

  #persist(): void {
    this.#store.save([...this.#deployments.values()]);
  }
}

function onnxFileOf(resolved: ResolvedModel): string {
  if (!resolved.localPath) throw new ValidationError([{ field: "model", message: `version ${resolved.version} has no local copy to serve` }]);
  if (resolved.localPath.endsWith(".onnx") && fs.existsSync(resolved.localPath)) return resolved.localPath;
  const file = readMlModel(resolved.localPath).onnxFile;
  if (!file || !fs.existsSync(file)) {
    throw new ValidationError([
      {
        field: "model",
        message: `the embedded server serves ONNX models only; ${resolved.model} v${resolved.version} has flavors [${resolved.flavors.join(", ")}]: deploy it with --backend seldon or kserve`,
      },
    ]);
  }
  // Checked at use on the real location: a symlink in the downloaded copy must not lead out of it.
  if (!fs.realpathSync(file).startsWith(fs.realpathSync(resolved.localPath) + path.sep)) {
    throw new ValidationError([{ field: "model", message: `${resolved.model} v${resolved.version}: the ONNX file lies outside the downloaded model` }]);
  }
  return file;
}
