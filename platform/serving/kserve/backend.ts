// KServeServingBackend: InferenceService v1beta1 (protocol v2, scale to zero) per model, InferenceGraph v1alpha1
// Sequence per pipeline and Splitter per experiment (interfaces.md §5). What KServe cannot express is refused.
import { ValidationError, type FieldIssue } from "../../errors.ts";
import type { ApplyContext, DeploymentStatus, InferenceTarget } from "../../ports.ts";
import type { DeploymentSpec, ExperimentDeployment, ModelDeployment, PipelineDeployment } from "../../specs/deployment.ts";
import { ANNOTATION, ClusterServingBackend, objectMeta, type ClusterBackendOptions, type KindRef } from "../cluster-base.ts";
import type { KubeObj } from "../kube.ts";
import type { NativeCanary } from "../native-canary.ts";
import { parseRef } from "../refs.ts";
import { kserveCanary, revisionsOf } from "./canary.ts";

export const KSERVE_ISVC_API = "serving.kserve.io/v1beta1";
export const KSERVE_GRAPH_API = "serving.kserve.io/v1alpha1";
/**
 * The env var that tells an MLServer-compatible runtime the registry version it serves. MLServer reads it into
 * ModelParameters.version (settings.py, env prefix MLSERVER_MODEL_) when the model comes from the environment, as
 * KServe's runtime loads it: no model-settings.json in the repository (repository.py); the V2 answers' model_version
 * is that version (model.py).
 */
export const MODEL_VERSION_ENV = "MLSERVER_MODEL_VERSION";

export interface KServeBackendOptions extends ClusterBackendOptions {
  /** Base URL of a deployment's host (default cluster-local http://<name>.<namespace>.svc.cluster.local). */
  readonly hostUrl?: ((name: string) => string) | undefined;
  /** ServingRuntime to pin (spec.predictor.model.runtime); otherwise KServe picks one by modelFormat. */
  readonly runtime?: string | undefined;
}

/** MLmodel flavor -> KServe modelFormat.name. */
const FORMATS = ["onnx", "sklearn", "xgboost", "lightgbm", "tensorflow", "pytorch"] as const;
export function modelFormatFor(flavors: readonly string[]): string {
  return FORMATS.find((f) => flavors.includes(f)) ?? "mlflow";
}

export class KServeServingBackend extends ClusterServingBackend {
  readonly name = "kserve";
  readonly #opts: KServeBackendOptions;
  /** Canaries by the InferenceService's own canaryTrafficPercent (KServe's rollout strategy, Serverless mode). */
  readonly canary: NativeCanary;

  /** The status carries the canary's arms, read from the same object, so infer needs no second read per request. */
  protected override statusOf(obj: KubeObj): DeploymentStatus {
    const status = super.statusOf(obj);
    const arms = revisionsOf(obj);
    return arms ? { ...status, canaryVersions: [arms.stable.version, arms.candidate.version] } : status;
  }

  constructor(opts: KServeBackendOptions) {
    super(opts);
    this.#opts = opts;
    this.canary = kserveCanary({
      render: (spec, ctx) => this.#isvc(spec, ctx),
      client: this.client,
      waitReady: (name) => this.waitReady(KSERVE_ISVC_API, "InferenceService", name),
    });
  }

  protected kinds(): readonly KindRef[] {
    return [
      { apiVersion: KSERVE_ISVC_API, kind: "InferenceService" },
      { apiVersion: KSERVE_GRAPH_API, kind: "InferenceGraph" },
    ];
  }

  #host(name: string): string {
    return this.#opts.hostUrl?.(name) ?? `http://${name}.${this.client.namespace}.svc.cluster.local`;
  }

  protected async check(spec: DeploymentSpec): Promise<void> {
    const issues = spec.kind === "pipeline" ? sequenceIssues(spec) : spec.kind === "experiment" ? splitterIssues(spec) : [];
    if (issues.length) throw new ValidationError(issues, `${spec.name} cannot be deployed on KServe: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
  }

  render(spec: DeploymentSpec, ctx: ApplyContext): Record<string, unknown>[] {
    if (spec.kind === "model") return [this.#isvc(spec, ctx)];
    const issues = spec.kind === "pipeline" ? sequenceIssues(spec) : splitterIssues(spec);
    if (issues.length) throw new ValidationError(issues, `${spec.name} cannot be deployed on KServe: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
    return [spec.kind === "pipeline" ? this.#sequence(spec, ctx) : this.#splitter(spec, ctx)];
  }

  #isvc(spec: ModelDeployment, ctx: ApplyContext): Record<string, unknown> {
    const resolved = ctx.models[spec.name];
    if (!resolved) throw new ValidationError([{ field: `models.${spec.name}`, message: "no registry version was resolved for this model" }]);
    return {
      apiVersion: KSERVE_ISVC_API,
      kind: "InferenceService",
      metadata: objectMeta(spec, ctx, this.client.namespace, [], {
        [ANNOTATION.model]: resolved.model,
        [ANNOTATION.version]: resolved.version,
        "serving.kserve.io/deploymentMode": "Serverless",
      }),
      spec: {
        predictor: {
          minReplicas: spec.minReplicas ?? spec.replicas ?? 0,
          ...(spec.maxReplicas !== undefined ? { maxReplicas: spec.maxReplicas } : {}),
          model: {
            modelFormat: { name: spec.format ?? modelFormatFor(resolved.flavors) },
            protocolVersion: "v2",
            storageUri: spec.storageUri ?? resolved.storageUri,
            ...(this.#opts.runtime ? { runtime: this.#opts.runtime } : {}),
            // Per revision, so a canary's answers say which arm served: MLServer reports it as the V2 model_version
            // (ModelParameters.version, env prefix MLSERVER_MODEL_); runtimes that ignore it answer their own numbering,
            // which infer does not take for a registry version (functions/infer/version.ts).
            env: [{ name: MODEL_VERSION_ENV, value: resolved.version }],
          },
        },
      },
    };
  }

  #step(name: string, data: "$request" | "$response", weight?: number): Record<string, unknown> {
    // A V2 isvc is called on its /v2 infer path; serviceName alone would make the router use the v1 path.
    return { name, serviceName: name, serviceUrl: `${this.#host(name)}/v2/models/${name}/infer`, data, ...(weight !== undefined ? { weight } : {}) };
  }

  #sequence(spec: PipelineDeployment, ctx: ApplyContext): Record<string, unknown> {
    const steps = spec.steps.map((s) => this.#step(s.name, feedsFromPipeline(spec, s) ? "$request" : "$response"));
    return { apiVersion: KSERVE_GRAPH_API, kind: "InferenceGraph", metadata: objectMeta(spec, ctx, this.client.namespace, []), spec: { nodes: { root: { routerType: "Sequence", steps } } } };
  }

  #splitter(spec: ExperimentDeployment, ctx: ApplyContext): Record<string, unknown> {
    const steps = spec.candidates.map((c) =>
      spec.resourceType === "pipeline" ? { name: c.name, serviceUrl: this.#host(c.name), weight: c.weight } : this.#step(c.name, "$request", c.weight),
    );
    return { apiVersion: KSERVE_GRAPH_API, kind: "InferenceGraph", metadata: objectMeta(spec, ctx, this.client.namespace, []), spec: { nodes: { root: { routerType: "Splitter", steps } } } };
  }

  /** A model on its own host; a graph at its root URL, with metadata from its first model. */
  async target(name: string): Promise<InferenceTarget> {
    const st = await this.requireDeployed(name);
    const spec = st.spec;
    const url = st.endpoint ?? this.#host(name);
    if (spec.kind === "model") return { url, model: name, headers: {} };
    const first = spec.kind === "pipeline" ? spec.steps[0]?.name : (spec.default ?? spec.candidates[0]?.name);
    return { url, model: name, headers: {}, inferPath: "/", ...(first ? { metadataUrl: `${this.#host(first)}/v2/models/${first}` } : {}) };
  }
}

const feedsFromPipeline = (p: PipelineDeployment, s: PipelineDeployment["steps"][number]): boolean => s.inputs.length === 0 || s.inputs.every((r) => parseRef(r)?.source === p.name);

/** A Sequence passes the request or the previous step's whole response on, unchanged: anything else is refused. */
export function sequenceIssues(p: PipelineDeployment): FieldIssue[] {
  const issues: FieldIssue[] = [];
  p.steps.forEach((s, i) => {
    for (const [from, to] of Object.entries(s.tensorMap)) {
      const ref = parseRef(from);
      if (ref?.tensor !== to) issues.push({ field: `steps[${i}].tensorMap`, message: `renaming ${from} to ${to} is unsupported on KServe: an InferenceGraph Sequence passes $request or $response unchanged` });
    }
    if (s.inputs.length === 0 || feedsFromPipeline(p, s)) {
      if (s.inputs.some((r) => parseRef(r)?.tensor !== undefined)) issues.push({ field: `steps[${i}].inputs`, message: "selecting single pipeline input tensors is unsupported on KServe: a step gets the whole $request" });
      return;
    }
    const prev = p.steps[i - 1]?.name;
    const sources = new Set(s.inputs.map((r) => parseRef(r)?.source));
    if (sources.size !== 1 || !sources.has(prev) || s.inputs.some((r) => parseRef(r)?.side !== "outputs")) {
      issues.push({ field: `steps[${i}].inputs`, message: `unsupported on KServe: a Sequence step takes the whole response of the step before it (${prev ?? "none"}), not ${s.inputs.join(", ")}` });
    } else if (s.inputs.some((r) => parseRef(r)?.tensor !== undefined)) {
      issues.push({ field: `steps[${i}].inputs`, message: "selecting single tensors of a step is unsupported on KServe: the next step gets its whole $response" });
    }
  });
  if (Object.keys(p.output.tensorMap).length) issues.push({ field: "output.tensorMap", message: "renaming outputs is unsupported on KServe" });
  const last = p.steps.at(-1)?.name;
  if (p.output.steps.length !== 1 || p.output.steps[0] !== last) issues.push({ field: "output.steps", message: `a KServe Sequence answers with its last step (${last ?? "none"}) only` });
  if (p.input && (p.input.externalInputs.length || Object.keys(p.input.tensorMap).length)) issues.push({ field: "input", message: "external inputs and input tensorMaps are unsupported on KServe" });
  return issues;
}

export function splitterIssues(e: ExperimentDeployment): FieldIssue[] {
  return e.mirror ? [{ field: "mirror", message: "mirror (shadow traffic) is unsupported on KServe (kserve#2978); remove it or deploy with --backend seldon or local" }] : [];
}
