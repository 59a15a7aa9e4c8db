// SeldonServingBackend: Model / Pipeline / Experiment (mlops.seldon.io/v1alpha1, interfaces.md §4) applied with
// server-side apply; inference routed through seldon-mesh with the Seldon-Model header.
import { ValidationError } from "../../errors.ts";
import type { ApplyContext, InferenceTarget, ResolvedModel } from "../../ports.ts";
import type { DeploymentSpec, ExperimentDeployment, ModelDeployment, PipelineDeployment } from "../../specs/deployment.ts";
import { ANNOTATION, ClusterServingBackend, objectMeta, type ClusterBackendOptions, type KindRef } from "../cluster-base.ts";
import { DEFAULT_MLSERVER_PACKAGES, environmentWarning, missingRequirements, requirementsFor } from "./requirements.ts";

export const SELDON_API = "mlops.seldon.io/v1alpha1";

export interface SeldonBackendOptions extends ClusterBackendOptions {
  /** Base URL of the seldon-mesh Service (default http://seldon-mesh.<namespace>.svc.cluster.local). */
  readonly meshUrl?: string | undefined;
  /** Pin models to a Server (spec.server); otherwise Seldon schedules by requirements. */
  readonly server?: string | undefined;
  /** Python packages the MLServer image provides (default DEFAULT_MLSERVER_PACKAGES). */
  readonly serverPackages?: readonly string[] | undefined;
  /** A packed environment per model version (e.g. s3://envs/iris-3.tar.gz); set as parameters.environment_tarball. */
  readonly environmentTarball?: ((m: ResolvedModel) => string | undefined) | undefined;
}

export class SeldonServingBackend extends ClusterServingBackend {
  readonly name = "seldon";
  readonly #opts: SeldonBackendOptions;

  constructor(opts: SeldonBackendOptions) {
    super(opts);
    this.#opts = opts;
  }

  protected kinds(): readonly KindRef[] {
    return [
      { apiVersion: SELDON_API, kind: "Model" },
      { apiVersion: SELDON_API, kind: "Pipeline" },
      { apiVersion: SELDON_API, kind: "Experiment" },
    ];
  }

  protected async check(spec: DeploymentSpec): Promise<void> {
    void spec; // Seldon expresses every pipeline and experiment the spec can describe.
  }

  render(spec: DeploymentSpec, ctx: ApplyContext): Record<string, unknown>[] {
    if (spec.kind === "model") return [this.#model(spec, ctx)];
    if (spec.kind === "pipeline") return [this.#pipeline(spec, ctx)];
    return [this.#experiment(spec, ctx)];
  }

  #model(spec: ModelDeployment, ctx: ApplyContext): Record<string, unknown> {
    const resolved = ctx.models[spec.name];
    if (!resolved) throw new ValidationError([{ field: `models.${spec.name}`, message: "no registry version was resolved for this model" }]);
    const requirements = spec.format ? requirementsFor([spec.format]) : requirementsFor(resolved.flavors);
    const tarball = this.#opts.environmentTarball?.(resolved);
    const missing = tarball ? [] : missingRequirements(resolved, requirements, this.#opts.serverPackages ?? DEFAULT_MLSERVER_PACKAGES);
    const warnings = missing.length ? [environmentWarning(resolved, missing)] : [];
    const parameters = tarball ? [{ name: "environment_tarball", value: tarball }] : [];
    return {
      apiVersion: SELDON_API,
      kind: "Model",
      metadata: objectMeta(spec, ctx, this.client.namespace, warnings, { [ANNOTATION.model]: resolved.model, [ANNOTATION.version]: resolved.version }),
      spec: {
        storageUri: spec.storageUri ?? resolved.storageUri,
        requirements,
        ...(spec.replicas !== undefined ? { replicas: spec.replicas } : {}),
        ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
        ...(spec.maxReplicas !== undefined ? { maxReplicas: spec.maxReplicas } : {}),
        ...(this.#opts.server ? { server: this.#opts.server } : {}),
        ...(/^[0-9]+$/.test(resolved.version) ? { artifactVersion: Number(resolved.version) } : {}),
        ...(parameters.length ? { parameters } : {}),
      },
    };
  }

  #pipeline(spec: PipelineDeployment, ctx: ApplyContext): Record<string, unknown> {
    const steps = spec.steps.map((s) => ({
      name: s.name,
      ...(s.inputs.length ? { inputs: [...s.inputs], inputsJoinType: s.joinType } : {}),
      ...(Object.keys(s.tensorMap).length ? { tensorMap: { ...s.tensorMap } } : {}),
      ...(s.joinWindowMs !== undefined ? { joinWindowMs: s.joinWindowMs } : {}),
    }));
    const input = spec.input && (spec.input.externalInputs.length || Object.keys(spec.input.tensorMap).length)
      ? { input: { ...(spec.input.externalInputs.length ? { externalInputs: [...spec.input.externalInputs] } : {}), ...(Object.keys(spec.input.tensorMap).length ? { tensorMap: { ...spec.input.tensorMap } } : {}) } }
      : {};
    return {
      apiVersion: SELDON_API,
      kind: "Pipeline",
      metadata: objectMeta(spec, ctx, this.client.namespace, []),
      spec: {
        ...input,
        steps,
        output: {
          steps: [...spec.output.steps],
          stepsJoin: spec.output.stepsJoin,
          ...(Object.keys(spec.output.tensorMap).length ? { tensorMap: { ...spec.output.tensorMap } } : {}),
        },
      },
    };
  }

  #experiment(spec: ExperimentDeployment, ctx: ApplyContext): Record<string, unknown> {
    return {
      apiVersion: SELDON_API,
      kind: "Experiment",
      metadata: objectMeta(spec, ctx, this.client.namespace, []),
      spec: {
        ...(spec.default ? { default: spec.default } : {}),
        resourceType: spec.resourceType,
        candidates: spec.candidates.map((c) => ({ name: c.name, weight: c.weight })),
        ...(spec.mirror ? { mirror: { name: spec.mirror.name, percent: spec.mirror.percent } } : {}),
      },
    };
  }

  /** seldon-mesh routing: a model by name, a pipeline as `<p>.pipeline`, an experiment via its default or `<e>.experiment`. */
  async target(name: string): Promise<InferenceTarget> {
    const st = await this.requireDeployed(name);
    const url = this.#opts.meshUrl ?? `http://seldon-mesh.${this.client.namespace}.svc.cluster.local`;
    const spec = st.spec;
    let model = name;
    if (spec.kind === "pipeline") model = `${name}.pipeline`;
    else if (spec.kind === "experiment") {
      model = spec.default ? (spec.resourceType === "pipeline" ? `${spec.default}.pipeline` : spec.default) : `${name}.experiment`;
    }
    return { url, model, headers: { "Seldon-Model": model } };
  }
}
