// Pipeline executor with Seldon's semantics: steps run as soon as their inputs are joined (inner = all, outer = what
// arrived within joinWindowMs, any = first), tensors flow by reference with tensorMap renames, output steps are joined.
import { randomUUID } from "node:crypto";
import { UpstreamError, ValidationError, isKnownError } from "../../errors.ts";
import type { PipelineDeployment } from "../../specs/deployment.ts";
import { parseRef, refKey, type TensorRef } from "../refs.ts";
import type { InferRequest, InferResponse, ModelMetadata, ResponseOutput } from "../v2/types.ts";
import type { Composite, InferOutcome } from "./server.ts";

/** Seldon's default join window when a step sets none. */
export const DEFAULT_JOIN_WINDOW_MS = 1000;

type Tensor = ResponseOutput;
interface StepResult {
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
}

export interface PipelineDeps {
  /** Runs one step's model. */
  readonly runModel: (model: string, req: InferRequest) => Promise<InferResponse>;
  readonly modelMetadata: (model: string) => ModelMetadata | undefined;
  readonly ready: (model: string) => boolean;
}

class StepFailed extends Error {}

export class PipelineExecutor implements Composite {
  readonly kind = "pipeline";
  readonly #spec: PipelineDeployment;
  readonly #deps: PipelineDeps;

  constructor(spec: PipelineDeployment, deps: PipelineDeps) {
    this.#spec = spec;
    this.#deps = deps;
  }

  ready(): boolean {
    return this.#spec.steps.every((s) => this.#deps.ready(s.name));
  }

  /** Inputs: those of the steps fed by the pipeline's inputs; outputs: the output steps' (renamed). */
  metadata(): ModelMetadata {
    const p = this.#spec;
    const fedByPipeline = p.steps.filter((s) => s.inputs.length === 0 || s.inputs.some((r) => parseRef(r)?.source === p.name));
    const inputs = new Map<string, ModelMetadata["inputs"][number]>();
    for (const s of fedByPipeline) for (const t of this.#deps.modelMetadata(s.name)?.inputs ?? []) inputs.set(t.name, t);
    const outputs = p.output.steps.flatMap((s) =>
      (this.#deps.modelMetadata(s)?.outputs ?? []).map((t) => ({ ...t, name: p.output.tensorMap[refKey(s, "outputs", t.name)] ?? t.name })),
    );
    const meta: ModelMetadata = { name: p.name, versions: [], platform: "flywheel_pipeline", inputs: [...inputs.values()], outputs };
    // Column names come from the first step fed by the pipeline, labels from a single output step.
    const columns = fedByPipeline.length === 1 && fedByPipeline[0] ? this.#deps.modelMetadata(fedByPipeline[0].name)?.parameters?.columns : undefined;
    const only = p.output.steps.length === 1 ? p.output.steps[0] : undefined;
    const labels = only ? this.#deps.modelMetadata(only)?.parameters?.labels : undefined;
    if (columns !== undefined || labels !== undefined) meta.parameters = { ...(columns !== undefined ? { columns } : {}), ...(labels !== undefined ? { labels } : {}) };
    return meta;
  }

  async infer(req: InferRequest, _headers: Readonly<Record<string, string>>): Promise<InferOutcome> {
    const p = this.#spec;
    const id = req.id ?? randomUUID();
    const inputMap = p.input?.tensorMap ?? {};
    const pipelineInputs: Tensor[] = req.inputs.map((t) => ({
      name: inputMap[refKey(p.name, "inputs", t.name)] ?? t.name,
      shape: t.shape,
      datatype: t.datatype,
      data: t.data,
    }));
    const results = new Map<string, Promise<StepResult>>();
    const run = (name: string): Promise<StepResult> => {
      let r = results.get(name);
      if (!r) {
        r = this.#runStep(name, id, pipelineInputs, run);
        // Unobserved failures of steps nobody awaits (any/outer losers) must not crash the process.
        r.catch(() => undefined);
        results.set(name, r);
      }
      return r;
    };
    // Every step starts, as in Seldon where all steps listen on their topics.
    for (const s of p.steps) run(s.name);
    const outs = await this.#join(
      p.output.steps.map((s) => ({ source: s, side: "outputs" as const, tensor: undefined, raw: s })),
      p.output.stepsJoin,
      DEFAULT_JOIN_WINDOW_MS,
      pipelineInputs,
      run,
      p.output.tensorMap,
    ).catch((e: unknown) => {
      throw rethrow(e, p.name);
    });
    const response: InferResponse = { model_name: p.name, id, outputs: outs };
    return { response, headers: {} };
  }

  async #runStep(name: string, id: string, pipelineInputs: readonly Tensor[], run: (n: string) => Promise<StepResult>): Promise<StepResult> {
    const step = this.#spec.steps.find((s) => s.name === name);
    if (!step) throw new StepFailed(`no step ${name}`);
    const refs = step.inputs.length
      ? step.inputs.map((raw) => parseRef(raw) ?? { source: "", side: "outputs" as const, tensor: undefined, raw })
      : [{ source: this.#spec.name, side: "inputs" as const, tensor: undefined, raw: `${this.#spec.name}.inputs` }];
    const inputs = await this.#join(refs, step.joinType, step.joinWindowMs ?? DEFAULT_JOIN_WINDOW_MS, pipelineInputs, run, step.tensorMap);
    if (inputs.length === 0) throw new StepFailed(`step ${name} received no tensors`);
    let res: InferResponse;
    try {
      res = await this.#deps.runModel(name, { id, inputs: inputs.map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, data: t.data })) });
    } catch (e) {
      if (e instanceof ValidationError) throw new ValidationError(e.issues.map((i) => ({ field: `${name}.${i.field}`, message: i.message })), `step ${name}: ${e.message}`);
      throw e;
    }
    return { inputs, outputs: res.outputs };
  }

  /** Resolve references under a join type; tensors are renamed through tensorMap (keys `step.side.tensor`). */
  async #join(
    refs: readonly TensorRef[],
    joinType: "inner" | "outer" | "any",
    windowMs: number,
    pipelineInputs: readonly Tensor[],
    run: (n: string) => Promise<StepResult>,
    tensorMap: Readonly<Record<string, string>>,
  ): Promise<Tensor[]> {
    const pipelineName = this.#spec.name;
    const sources = [...new Set(refs.map((r) => r.source))];
    const pending = new Map<string, Promise<StepResult>>(
      sources.map((s) => [s, s === pipelineName ? Promise.resolve({ inputs: pipelineInputs, outputs: [] }) : run(s)]),
    );
    const select = (got: ReadonlyMap<string, StepResult>): Tensor[] =>
      refs.flatMap((ref) => {
        const r = got.get(ref.source);
        if (!r) return [];
        const side = ref.side === "inputs" ? r.inputs : r.outputs;
        const picked = ref.tensor === undefined ? side : side.filter((t) => t.name === ref.tensor);
        if (ref.tensor !== undefined && picked.length === 0) throw new StepFailed(`${ref.raw}: ${ref.source} has no tensor ${ref.tensor}`);
        return picked.map((t) => ({ ...t, name: tensorMap[refKey(ref.source, ref.side, t.name)] ?? t.name }));
      });

    if (joinType === "inner") {
      const got = new Map<string, StepResult>();
      for (const [s, pr] of pending) got.set(s, await pr);
      return select(got);
    }
    if (joinType === "any") {
      const first = await Promise.any([...pending].map(([s, pr]) => pr.then((r) => [s, r] as const))).catch((e: unknown) => {
        throw e instanceof AggregateError ? (e.errors[0] ?? e) : e;
      });
      return select(new Map([first]));
    }
    // outer: take whatever arrived within the window (or all, if they finish sooner).
    const got = new Map<string, StepResult>();
    const errors: unknown[] = [];
    let timer: NodeJS.Timeout | undefined;
    const window = new Promise<void>((resolve) => (timer = setTimeout(resolve, windowMs)));
    const all = Promise.all([...pending].map(([s, pr]) => pr.then((r) => void got.set(s, r), (e: unknown) => void errors.push(e))));
    await Promise.race([all, window]);
    clearTimeout(timer);
    if (got.size === 0) throw errors[0] ?? new StepFailed(`no input arrived within ${windowMs} ms`);
    return select(got);
  }
}

function rethrow(e: unknown, pipeline: string): Error {
  if (isKnownError(e)) return e;
  if (e instanceof StepFailed) return new UpstreamError(`pipeline ${pipeline}: ${e.message}`, false, { status: 502 });
  return new UpstreamError(`pipeline ${pipeline} failed`, false, { cause: e, status: 500 });
}
