// Filling the launch form: from a job's spec (clone), a shipped example (examples/*/spec.yaml) or pasted YAML, whose
// errors name the line.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { YAMLParseError, parseDocument } from "yaml";
import type { TrainingSpecInput } from "../../platform/specs/training.ts";
import { TRAINING_KINDS } from "../../platform/specs/training.ts";
import { emptyTrainingForm } from "./form.tsx";
import type { TrainingFormState } from "./form.tsx";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : "");
const lines = (v: unknown): string => (Array.isArray(v) ? v.map(str).join("\n") : str(v));

/** The form state for a spec (a job's, an example's or a pasted one); unknown fields are ignored. */
export function specToForm(spec: Readonly<Record<string, unknown>> | TrainingSpecInput): TrainingFormState {
  const s: Readonly<Record<string, unknown>> = { ...spec };
  const st = emptyTrainingForm();
  const kind = TRAINING_KINDS.find((k) => k === s.kind);
  if (kind) st.kind = kind;
  st.model = str(s.model);
  st.experiment = str(s.experiment);
  st.command = lines(s.command);
  st.args = lines(s.args);
  st.image = str(s.image);
  if (isRecord(s.source)) {
    if (typeof s.source.path === "string") {
      st.sourceKind = "path";
      st.sourcePath = s.source.path;
    } else if (typeof s.source.git === "string") {
      st.sourceKind = "git";
      st.sourceGit = s.source.git;
      st.sourceRef = str(s.source.ref) || "main";
      st.sourceEntry = str(s.source.entry);
    }
  }
  if (isRecord(s.params)) {
    const rows = Object.entries(s.params).map(([key, value]) => ({ key, value: str(value) }));
    if (rows.length) st.params = rows;
  }
  if (s.replicas !== undefined) st.replicas = str(s.replicas);
  if (s.procsPerReplica !== undefined) st.procsPerReplica = str(s.procsPerReplica);
  st.executors = str(s.executors);
  if (isRecord(s.resources)) {
    st.cpu = str(s.resources.cpu);
    st.memory = str(s.resources.memory);
    st.gpu = str(s.resources.gpu);
  }
  if (s.timeoutSeconds !== undefined) st.timeoutSeconds = str(s.timeoutSeconds);
  st.dataset = str(s.dataset);
  return st;
}

/** Pasted YAML as a form state, or a message that names the line and column. */
export function parseSpecYaml(text: string): { st: TrainingFormState } | { error: string } {
  if (!text.trim()) return { error: "paste a training spec in YAML (kind, model, command, params, ...)" };
  const doc = parseDocument(text);
  const err = doc.errors[0];
  if (err) {
    const where = err instanceof YAMLParseError && err.linePos?.[0] ? `line ${err.linePos[0].line}, column ${err.linePos[0].col}: ` : "";
    // The library's message ends with " at line L, column C:" and a code frame: keep the sentence only.
    return { error: `${where}${(err.message.split("\n")[0] ?? "not valid YAML").replace(/ at line \d+, column \d+:?$/, "")}` };
  }
  const value: unknown = doc.toJS();
  if (!isRecord(value)) return { error: "line 1: the spec must be a mapping (kind: single, model: iris, ...), not a list or a single value" };
  return { st: specToForm(value) };
}

export interface Example {
  readonly id: string;
  readonly title: string;
  readonly yaml: string;
}

/** The shipped examples that carry a spec.yaml, read once. */
export function loadExamples(dir = fileURLToPath(new URL("../../examples/", import.meta.url))): Example[] {
  const out: Example[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const id of names) {
    try {
      const yaml = readFileSync(path.join(dir, id, "spec.yaml"), "utf8");
      const first = /^#\s*(.+)$/m.exec(readFileSync(path.join(dir, id, "README.md"), "utf8").replace(/^#\s*/, "# "));
      out.push({ id, title: first?.[1] ?? id, yaml });
    } catch {
      // No spec.yaml (or README): not launchable from the form as is.
    }
  }
  return out;
}
