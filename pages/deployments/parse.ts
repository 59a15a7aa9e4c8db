// Deployment forms -> DeploymentSpec (validated by DeploymentSpecSchema), with row edits for the no-JS path.
import { DEPLOYMENT_KINDS, DeploymentSpecSchema, JOIN_TYPES } from "../../platform/specs/deployment.ts";
import type { DeploymentKind, DeploymentSpec } from "../../platform/specs/deployment.ts";
import type { FieldErrors } from "../components.tsx";
import { Errors, addZodIssues, applyRowOp, intField, readRows } from "../forms.ts";
import type { FormBody } from "../forms.ts";

export type JoinType = (typeof JOIN_TYPES)[number];
const isJoin = (v: unknown): v is JoinType => JOIN_TYPES.some((j) => j === v);
export const isDeploymentKind = (v: unknown): v is DeploymentKind => DEPLOYMENT_KINDS.some((k) => k === v);

export interface DeployFormState {
  kind: DeploymentKind;
  name: string;
  // model
  model: string;
  ref: "version" | "alias";
  version: string;
  alias: string;
  // pipeline
  steps: { name: string; inputs: string; join: JoinType }[];
  tensorMap: { step: string; from: string; to: string }[];
  outputSteps: string;
  // experiment
  candidates: { name: string; weight: string }[];
  defaultCandidate: string;
  mirrorName: string;
  mirrorPercent: string;
}

export function emptyDeployForm(kind: DeploymentKind): DeployFormState {
  return {
    kind,
    name: "",
    model: "",
    ref: "version",
    version: "",
    alias: "champion",
    steps: [{ name: "", inputs: "", join: "inner" }],
    tensorMap: [],
    outputSteps: "",
    candidates: [{ name: "", weight: "50" }, { name: "", weight: "50" }],
    defaultCandidate: "",
    mirrorName: "",
    mirrorPercent: "100",
  };
}

const list = (s: string): string[] => s.split(",").map((x) => x.trim()).filter(Boolean);

export function readDeployForm(form: FormBody): DeployFormState {
  const s = (k: string): string => (form[k] ?? "").trim();
  const kind = isDeploymentKind(form.kind) ? form.kind : "model";
  return {
    kind,
    name: s("name"),
    model: s("model"),
    ref: form.ref === "alias" ? "alias" : "version",
    version: s("version"),
    alias: s("alias"),
    steps: readRows(form, "step", ["name", "inputs", "join"]).map((r) => {
      const join = r.get("join");
      return { name: r.get("name") ?? "", inputs: r.get("inputs") ?? "", join: isJoin(join) ? join : "inner" };
    }),
    tensorMap: readRows(form, "tmap", ["step", "from", "to"]).map((r) => ({ step: r.get("step") ?? "", from: r.get("from") ?? "", to: r.get("to") ?? "" })),
    outputSteps: s("outputSteps"),
    candidates: readRows(form, "cand", ["name", "weight"]).map((r) => ({ name: r.get("name") ?? "", weight: r.get("weight") ?? "" })),
    defaultCandidate: s("defaultCandidate"),
    mirrorName: s("mirrorName"),
    mirrorPercent: s("mirrorPercent"),
  };
}

export function applyDeployRowOp(op: string | undefined, st: DeployFormState): boolean {
  return (
    applyRowOp(op, "step", st.steps, () => ({ name: "", inputs: "", join: "inner" as const })) ||
    applyRowOp(op, "tmap", st.tensorMap, () => ({ step: "", from: "", to: "" })) ||
    applyRowOp(op, "cand", st.candidates, () => ({ name: "", weight: "" }))
  );
}

/** Form field for a schema path: rows report at their list, everything else at its top-level field. */
function fieldFor(kind: DeploymentKind, path: string): string {
  const top = path.split(".")[0] ?? path;
  if (kind === "experiment" && top === "default") return "defaultCandidate";
  if (kind === "experiment" && top === "mirror") return "mirror";
  if (kind === "pipeline" && top === "output") return "outputSteps";
  return top;
}

export function validateDeployForm(st: DeployFormState): { spec: DeploymentSpec } | { errors: FieldErrors } {
  const errors = new Errors();
  let input: Record<string, unknown>;
  if (st.kind === "model") {
    input = { kind: "model", name: st.name, model: st.model };
    if (st.ref === "version") {
      if (!st.version) errors.add("version", "give a version, or choose an alias");
      else input.version = st.version;
    } else input.alias = st.alias || "champion";
  } else if (st.kind === "pipeline") {
    const steps = st.steps.filter((s) => s.name || s.inputs).map((s) => {
      const tensorMap: Record<string, string> = {};
      for (const t of st.tensorMap) if (t.step === s.name && t.from) tensorMap[t.from] = t.to;
      return { name: s.name, inputs: list(s.inputs), tensorMap, joinType: s.join };
    });
    for (const t of st.tensorMap) {
      if ((t.step || t.from || t.to) && !steps.some((s) => s.name === t.step)) errors.add("tensorMap", `tensor map row for unknown step "${t.step}"`);
    }
    const out = list(st.outputSteps);
    for (const o of out) if (!steps.some((s) => s.name === o)) errors.add("outputSteps", `output step "${o}" is not one of the steps`);
    input = { kind: "pipeline", name: st.name, steps, output: { steps: out.length ? out : [steps.at(-1)?.name ?? ""] } };
  } else {
    const candidates = st.candidates
      .filter((cand) => cand.name || cand.weight)
      .map((cand, i) => {
        const w = intField({ w: cand.weight }, "w", errors);
        if (w === undefined && !errors.map.w) errors.add("candidates", `row ${i + 1}: a weight is required`);
        return { name: cand.name, weight: w ?? 0 };
      });
    if (errors.map.w) {
      errors.add("candidates", "weights must be whole numbers");
      delete errors.map.w;
    }
    input = { kind: "experiment", name: st.name, candidates };
    if (st.defaultCandidate) input.default = st.defaultCandidate;
    if (st.mirrorName) {
      const pct = intField({ mirrorPercent: st.mirrorPercent }, "mirrorPercent", errors);
      input.mirror = { name: st.mirrorName, percent: pct ?? 100 };
    }
  }
  const parsed = DeploymentSpecSchema.safeParse(input);
  if (!parsed.success) addZodIssues(errors, parsed.error, 1, (f) => fieldFor(st.kind, f));
  if (!errors.empty || !parsed.success) return { errors: errors.value };
  return { spec: parsed.data };
}
