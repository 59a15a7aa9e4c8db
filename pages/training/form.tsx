// The training launch form: its state, parsing into a TrainingSpec (validated by TrainingSpecSchema), and rendering.
import type { Child, FC } from "hono/jsx";
import { TRAINING_KINDS, TrainingSpecSchema } from "../../platform/specs/training.ts";
import type { TrainingKind, TrainingSpec, TrainingSpecInput } from "../../platform/specs/training.ts";
import { Csrf, Field, FormErrors } from "../components.tsx";
import type { FieldErrors } from "../components.tsx";
import { Errors, addZodIssues, applyRowOp, argvLines, intField, readRows } from "../forms.ts";
import type { FormBody } from "../forms.ts";

export const SOURCE_KINDS = ["command", "path", "git"] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
const isSourceKind = (v: unknown): v is SourceKind => SOURCE_KINDS.some((k) => k === v);
const isKind = (v: unknown): v is TrainingKind => TRAINING_KINDS.some((k) => k === v);

export interface TrainingFormState {
  kind: TrainingKind;
  model: string;
  experiment: string;
  sourceKind: SourceKind;
  command: string;
  args: string;
  image: string;
  sourcePath: string;
  sourceGit: string;
  sourceRef: string;
  sourceEntry: string;
  params: { key: string; value: string }[];
  replicas: string;
  procsPerReplica: string;
  executors: string;
  cpu: string;
  memory: string;
  gpu: string;
  timeoutSeconds: string;
  dataset: string;
}

export const emptyTrainingForm = (): TrainingFormState => ({
  kind: "single",
  model: "",
  experiment: "",
  sourceKind: "command",
  command: "",
  args: "",
  image: "",
  sourcePath: "",
  sourceGit: "",
  sourceRef: "main",
  sourceEntry: "",
  params: [{ key: "", value: "" }],
  replicas: "1",
  procsPerReplica: "1",
  executors: "",
  cpu: "",
  memory: "",
  gpu: "",
  timeoutSeconds: "3600",
  dataset: "",
});

export function readTrainingForm(form: FormBody): TrainingFormState {
  const s = (k: string): string => (form[k] ?? "").trim();
  return {
    kind: isKind(form.kind) ? form.kind : "single",
    model: s("model"),
    experiment: s("experiment"),
    sourceKind: isSourceKind(form.sourceKind) ? form.sourceKind : "command",
    command: form.command ?? "",
    args: form.args ?? "",
    image: s("image"),
    sourcePath: s("sourcePath"),
    sourceGit: s("sourceGit"),
    sourceRef: s("sourceRef"),
    sourceEntry: s("sourceEntry"),
    params: readRows(form, "param", ["key", "value"]).map((r) => ({ key: r.get("key") ?? "", value: r.get("value") ?? "" })),
    replicas: s("replicas") || "1",
    procsPerReplica: s("procsPerReplica") || "1",
    executors: s("executors"),
    cpu: s("cpu"),
    memory: s("memory"),
    gpu: s("gpu"),
    timeoutSeconds: s("timeoutSeconds"),
    dataset: s("dataset"),
  };
}

/** Add/remove param rows (no-JS path). True when the op was a row edit rather than a launch. */
export const applyTrainingRowOp = (op: string | undefined, st: TrainingFormState): boolean =>
  op === "show" || applyRowOp(op, "param", st.params, () => ({ key: "", value: "" }));

// Field names in the form for spec paths the schema reports.
const FIELD_OF: Record<string, string> = { "source.git": "sourceGit", "source.ref": "sourceRef", "source.entry": "sourceEntry", "source.path": "sourcePath", source: "sourceKind", "resources.cpu": "cpu", "resources.memory": "memory", "resources.gpu": "gpu", resources: "cpu" };

export function validateTrainingForm(st: TrainingFormState): { spec: TrainingSpec } | { errors: FieldErrors } {
  const errors = new Errors();
  const params: Record<string, string> = {};
  st.params.forEach((p, i) => {
    if (!p.key && !p.value) return;
    if (!p.key) errors.add("params", `row ${i + 1}: a parameter needs a name`);
    else if (p.key in params) errors.add("params", `parameter ${p.key} is given twice`);
    else params[p.key] = p.value;
  });
  const form: FormBody = { replicas: st.replicas, procsPerReplica: st.procsPerReplica, executors: st.executors, gpu: st.gpu, timeoutSeconds: st.timeoutSeconds };
  const replicas = intField(form, "replicas", errors);
  const procs = intField(form, "procsPerReplica", errors);
  const executors = intField(form, "executors", errors);
  const gpu = intField(form, "gpu", errors);
  const timeout = intField(form, "timeoutSeconds", errors);
  const input: TrainingSpecInput = { kind: st.kind, model: st.model, params, args: argvLines(st.args) };
  if (st.experiment) input.experiment = st.experiment;
  if (st.image) input.image = st.image;
  const command = argvLines(st.command);
  if (command.length) input.command = command;
  if (st.sourceKind === "path") input.source = { path: st.sourcePath };
  if (st.sourceKind === "git") input.source = { git: st.sourceGit, ref: st.sourceRef || "main", entry: st.sourceEntry };
  if (st.sourceKind === "command" && !command.length) errors.add("command", "give the command to run, one argument per line");
  // Passed whatever the kind: the schema says which kinds they apply to, at the field.
  if (replicas !== undefined) input.replicas = replicas;
  if (procs !== undefined) input.procsPerReplica = procs;
  if (executors !== undefined) input.executors = executors;
  if (st.cpu || st.memory || gpu !== undefined) {
    input.resources = { ...(st.cpu ? { cpu: st.cpu } : {}), ...(st.memory ? { memory: st.memory } : {}), ...(gpu !== undefined ? { gpu } : {}) };
  }
  if (timeout !== undefined) input.timeoutSeconds = timeout;
  if (st.dataset) input.dataset = st.dataset;
  const parsed = TrainingSpecSchema.safeParse(input);
  if (!parsed.success) addZodIssues(errors, parsed.error, 2, (f) => FIELD_OF[f] ?? (f.startsWith("params.") ? "params" : f));
  if (!errors.empty || !parsed.success) return { errors: errors.value };
  return { spec: parsed.data };
}

const SHOWN = ["kind", "model", "experiment", "sourceKind", "command", "args", "image", "sourcePath", "sourceGit", "sourceRef", "sourceEntry", "params", "replicas", "procsPerReplica", "executors", "cpu", "memory", "gpu", "timeoutSeconds", "dataset"];

const ParamRow: FC<{ i: number | string; k: string; v: string }> = ({ i, k, v }) => (
  <div class="rowline">
    <input type="text" name={`param_key_${i}`} value={k} placeholder="name" aria-label="parameter name" />
    <input type="text" name={`param_value_${i}`} value={v} placeholder="value" aria-label="parameter value" />
    <button type="submit" class="secondary small" name="_op" value={`remove-param-${i}`} data-remove-row="" formnovalidate>
      Remove
    </button>
  </div>
);

export const TrainingForm: FC<{ st: TrainingFormState; errors: FieldErrors; csrf: string }> = ({ st, errors, csrf }) => {
  const f = { st, errors };
  return (
    <form method="post" action="/training" class="stack card" id="training-form" hx-post="/training" hx-target="this" hx-swap="outerHTML" novalidate>
      <Csrf token={csrf} />
      <FormErrors errors={errors} shown={SHOWN} />
      <div class="row">
        <Field errors={errors} name="kind" label="Kind">
          <select name="kind" id="kind">
            {TRAINING_KINDS.map((k) => (
              <option value={k} selected={st.kind === k}>
                {k}
              </option>
            ))}
          </select>
        </Field>
        <Input {...f} name="model" label="Registered model" placeholder="iris" required />
        <Input {...f} name="experiment" label="Experiment" placeholder="defaults to the model name" />
      </div>
      <fieldset>
        <legend>Source</legend>
        <div class="row">
          {SOURCE_KINDS.map((k) => (
            <label class="shrink">
              <input type="radio" name="sourceKind" value={k} checked={st.sourceKind === k} /> {k === "command" ? "command on this machine / image" : k === "path" ? "local path" : "git repository"}
            </label>
          ))}
        </div>
        <FieldErrorBlock errors={errors} name="sourceKind" />
        <noscript><p><button type="submit" class="secondary small" name="_op" value="show" formnovalidate>Show the fields for this kind and source</button></p></noscript>
        <Only when="source" value="command" current={st.sourceKind}>
          <Field errors={errors} name="command" label="Command (one argument per line)">
            <textarea name="command" id="command" rows={3}>{st.command}</textarea>
          </Field>
          <Input {...f} name="image" label="Image (Kubernetes only; leave empty to run here)" />
        </Only>
        <Field errors={errors} name="args" label="Arguments (one per line)">
          <textarea name="args" id="args" rows={2}>{st.args}</textarea>
        </Field>
        <Only when="source" value="path" current={st.sourceKind}>
          <Input {...f} name="sourcePath" label="Path" />
        </Only>
        <Only when="source" value="git" current={st.sourceKind}>
        <div class="row">
          <Input {...f} name="sourceGit" label="Git URL" placeholder="https://..." />
          <Input {...f} name="sourceRef" label="Ref" />
          <Input {...f} name="sourceEntry" label="Entry" placeholder="train.py" />
        </div>
        </Only>
      </fieldset>
      <fieldset>
        <legend>Parameters</legend>
        <div class="rows" id="param-rows">
          {st.params.map((p, i) => (
            <ParamRow i={i} k={p.key} v={p.value} />
          ))}
        </div>
        <template id="param-row-template">
          <ParamRow i="__N__" k="" v="" />
        </template>
        <button type="submit" class="secondary small" name="_op" value="add-param" data-add-row="param-rows" data-template="param-row-template" formnovalidate>
          Add parameter
        </button>
        <FieldErrorBlock errors={errors} name="params" />
      </fieldset>
      <Only when="kind" value="ddp" current={st.kind}>
        <div class="row">
          <Input {...f} name="replicas" label="Replicas" type="number" min="1" />
          <Input {...f} name="procsPerReplica" label="Processes per replica" type="number" min="1" />
        </div>
      </Only>
      <Only when="kind" value="spark" current={st.kind}>
        <Input {...f} name="executors" label="Executors" type="number" min="1" />
      </Only>
      <div class="row">
        <Input {...f} name="cpu" label="CPU" placeholder="500m" />
        <Input {...f} name="memory" label="Memory" placeholder="2Gi" />
        <Input {...f} name="gpu" label="GPUs" type="number" min="0" />
        <Input {...f} name="timeoutSeconds" label="Timeout (s)" type="number" min="1" />
        <Input {...f} name="dataset" label="Dataset (lineage)" />
      </div>
      <p>
        <button type="submit" id="launch">
          Launch training
        </button>
      </p>
    </form>
  );
};

/** The form's text fields as state keys: a field's name, id and value are its key in the state. */
type TextField = { [K in keyof TrainingFormState]: TrainingFormState[K] extends string ? K : never }[keyof TrainingFormState];

/** One labelled input bound to its state key, with its errors. */
const Input: FC<{ st: TrainingFormState; errors: FieldErrors; name: TextField; label: string; type?: "text" | "number"; placeholder?: string; min?: string; required?: boolean }> = (p) => (
  <Field errors={p.errors} name={p.name} label={p.label}>
    <input type={p.type ?? "text"} name={p.name} id={p.name} value={p.st[p.name]} placeholder={p.placeholder} min={p.min} required={p.required} />
  </Field>
);

/**
 * Fields that belong to one kind (or source): hidden and disabled otherwise, so they are neither shown nor sent.
 * flywheel.js flips them as the choice changes; without JavaScript the "Show the fields" button re-renders the form.
 */
const Only: FC<{ when: "kind" | "source"; value: string; current: string; children?: Child }> = ({ when, value, current, children }) => (
  <fieldset class="only" {...{ [`data-when-${when}`]: value }} hidden={value !== current} disabled={value !== current}>{children}</fieldset>
);

const FieldErrorBlock: FC<{ errors: FieldErrors; name: string }> = ({ errors, name }) => (
  <>
    {(errors[name] ?? []).map((m) => (
      <p class="field-error" data-field={name}>
        {m}
      </p>
    ))}
  </>
);
