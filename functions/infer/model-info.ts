// Model information for building requests: the V2 metadata (inputs, outputs) plus column names and labels from the
// metadata parameters (embedded server) or the registry's lineage tags, cached per deployment revision.
import { TAG } from "../../platform/lineage.ts";
import type { DeploymentStatus, InferenceTarget } from "../../platform/ports.ts";
import type { ModelInfo } from "./build.ts";
import type { InferDeps } from "./deps.ts";

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((s) => typeof s === "string") ? v : undefined);

function fromTag(raw: string | undefined): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export class ModelInfoCache {
  readonly #cache = new Map<string, Promise<ModelInfo>>();

  get(deps: InferDeps, status: DeploymentStatus, target: InferenceTarget): Promise<ModelInfo> {
    const key = `${status.name}\u0000${status.revision}\u0000${status.updatedAt}`;
    let p = this.#cache.get(key);
    if (!p) {
      p = load(deps, status, target);
      this.#cache.set(key, p);
      // A failed lookup is not remembered.
      p.catch(() => this.#cache.delete(key));
      if (this.#cache.size > 256) this.#cache.delete(this.#cache.keys().next().value ?? key);
    }
    return p;
  }
}

async function load(deps: InferDeps, status: DeploymentStatus, target: InferenceTarget): Promise<ModelInfo> {
  const meta = await deps.client.metadata(target);
  let columns = strings(meta.parameters?.columns);
  let labels = strings(meta.parameters?.labels);
  // Experiments and pipelines have no registry version of their own: use the default candidate's or first step's.
  const spec = status.spec;
  const inner = spec.kind === "experiment" ? (spec.default ?? spec.candidates[0]?.name) : spec.kind === "pipeline" ? spec.steps[0]?.name : undefined;
  const source = inner && !status.model ? ((await deps.backend.get(inner).catch(() => undefined)) ?? status) : status;
  if ((!columns || !labels) && deps.registry && source.model && source.version) {
    try {
      const v = await deps.registry.getModelVersion(source.model, source.version);
      labels ??= strings(fromTag(v.tags[TAG.labels]));
      const sig = fromTag(v.tags[TAG.signature]);
      const inputs = sig && typeof sig === "object" ? (sig as { inputs?: unknown }).inputs : undefined;
      columns ??= Array.isArray(inputs) ? strings(inputs.map((i: unknown) => (i && typeof i === "object" ? (i as { name?: unknown }).name : undefined))) : undefined;
    } catch (e) {
      deps.log.debug("infer: no lineage tags for model", { model: source.model, message: e instanceof Error ? e.message : String(e) });
    }
  }
  return { inputs: meta.inputs ?? [], outputs: meta.outputs ?? [], columns, labels };
}
