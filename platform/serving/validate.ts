// Deploy-time validation beyond the schema: references resolve, no cycles, output steps exist, known models.
import { ValidationError, type FieldIssue } from "../errors.ts";
import type { DeploymentSpec, ExperimentDeployment, PipelineDeployment } from "../specs/deployment.ts";
import { parseRef } from "./refs.ts";

/** What already exists (or arrives in the same apply), by deployment name. */
export type KindOf = (name: string) => "model" | "pipeline" | "experiment" | undefined;

export function pipelineIssues(p: PipelineDeployment, kindOf: KindOf): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const steps = new Set(p.steps.map((s) => s.name));
  const seen = new Set<string>();
  const deps = new Map<string, Set<string>>();
  p.steps.forEach((step, i) => {
    if (seen.has(step.name)) issues.push({ field: `steps[${i}].name`, message: `duplicate step ${step.name}` });
    seen.add(step.name);
    if (step.name === p.name) issues.push({ field: `steps[${i}].name`, message: `a step cannot be named like the pipeline` });
    const kind = kindOf(step.name);
    if (kind !== "model") {
      issues.push({ field: `steps[${i}].name`, message: kind ? `${step.name} is a ${kind}, a step must name a model` : `unknown model ${step.name}: deploy it first` });
    }
    const mine = new Set<string>();
    deps.set(step.name, mine);
    step.inputs.forEach((raw, j) => {
      const ref = parseRef(raw);
      if (!ref) {
        issues.push({ field: `steps[${i}].inputs[${j}]`, message: `bad reference ${raw}: use step, step.outputs.tensor or ${p.name}.inputs.tensor` });
      } else if (ref.source === p.name) {
        if (ref.side !== "inputs") issues.push({ field: `steps[${i}].inputs[${j}]`, message: `${raw}: the pipeline itself only has inputs` });
      } else if (!steps.has(ref.source)) {
        issues.push({ field: `steps[${i}].inputs[${j}]`, message: `${raw} refers to no step of pipeline ${p.name}` });
      } else if (ref.source === step.name) {
        issues.push({ field: `steps[${i}].inputs[${j}]`, message: `${raw}: step ${step.name} refers to itself (cycle)` });
      } else mine.add(ref.source);
    });
    for (const key of Object.keys(step.tensorMap)) {
      if (!step.inputs.some((raw) => key === raw || key.startsWith(`${raw.split(".").length === 1 ? `${raw}.outputs` : raw}.`))) {
        issues.push({ field: `steps[${i}].tensorMap`, message: `${key} is not one of the step's inputs` });
      }
    }
  });
  const cycle = findCycle(deps);
  if (cycle) issues.push({ field: "steps", message: `cycle: ${cycle.join(" -> ")}` });
  p.output.steps.forEach((s, i) => {
    if (!steps.has(s)) issues.push({ field: `output.steps[${i}]`, message: `output step ${s} is not a step of pipeline ${p.name}` });
  });
  return issues;
}

function findCycle(deps: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === "done") return undefined;
    if (state.get(n) === "visiting") return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, "visiting");
    stack.push(n);
    for (const d of deps.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, "done");
    return undefined;
  };
  for (const n of deps.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

export function experimentIssues(e: ExperimentDeployment, kindOf: KindOf): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const total = e.candidates.reduce((s, c) => s + c.weight, 0);
  if (total !== 100) {
    issues.push({ field: "candidates", message: `weights must sum to 100, got ${total} (${e.candidates.map((c) => `${c.name}=${c.weight}`).join(", ")})` });
  }
  const names = new Set<string>();
  e.candidates.forEach((c, i) => {
    if (names.has(c.name)) issues.push({ field: `candidates[${i}].name`, message: `duplicate candidate ${c.name}` });
    names.add(c.name);
    if (c.name === e.name) issues.push({ field: `candidates[${i}].name`, message: `an experiment cannot route to itself` });
    const kind = kindOf(c.name);
    if (kind !== e.resourceType) {
      issues.push({ field: `candidates[${i}].name`, message: kind ? `${c.name} is a ${kind}, expected a ${e.resourceType}` : `unknown ${e.resourceType} ${c.name}: deploy it first` });
    }
  });
  if (e.mirror) {
    const kind = kindOf(e.mirror.name);
    if (kind !== e.resourceType) {
      issues.push({ field: "mirror.name", message: kind ? `${e.mirror.name} is a ${kind}, expected a ${e.resourceType}` : `unknown ${e.resourceType} ${e.mirror.name}: deploy it first` });
    }
    if (names.has(e.mirror.name)) issues.push({ field: "mirror.name", message: `the mirror ${e.mirror.name} is also a candidate` });
  }
  return issues;
}

/** Throws a ValidationError (HTTP 400) listing every problem of the spec. */
export function validateDeployment(spec: DeploymentSpec, kindOf: KindOf): void {
  const issues = spec.kind === "pipeline" ? pipelineIssues(spec, kindOf) : spec.kind === "experiment" ? experimentIssues(spec, kindOf) : [];
  if (issues.length) throw new ValidationError(issues.map((i) => ({ field: `spec.${i.field}`, message: i.message })), `deployment ${spec.name} is invalid: ${issues.map((i) => `${i.field}: ${i.message}`).join("; ")}`);
}
