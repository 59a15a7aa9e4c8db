// Deployment forms: a model, a pipeline builder (steps, inputs, tensor-map rows, join, outputs), an A/B experiment.
import type { FC } from "hono/jsx";
import { DEPLOYMENT_KINDS, JOIN_TYPES } from "../../platform/specs/deployment.ts";
import { Csrf, Field, FieldError, FormErrors } from "../components.tsx";
import type { FieldErrors } from "../components.tsx";
import type { DeployFormState } from "./parse.ts";

const SHOWN = ["kind", "name", "model", "version", "alias", "steps", "tensorMap", "outputSteps", "candidates", "defaultCandidate", "mirror", "mirrorPercent"];

const RemoveBtn: FC<{ list: string; i: number | string }> = ({ list, i }) => (
  <button type="submit" class="secondary small" name="_op" value={`remove-${list}-${i}`} data-remove-row="" formnovalidate>Remove</button>
);
const AddBtn: FC<{ list: string; label: string }> = ({ list, label }) => (
  <button type="submit" class="secondary small" name="_op" value={`add-${list}`} data-add-row={`${list}-rows`} data-template={`${list}-template`} formnovalidate>{label}</button>
);

const StepRow: FC<{ i: number | string; s: DeployFormState["steps"][number] }> = ({ i, s }) => (
  <div class="rowline">
    <input type="text" name={`step_name_${i}`} value={s.name} placeholder="step (deployment name)" aria-label="step name" />
    <input type="text" name={`step_inputs_${i}`} value={s.inputs} placeholder="inputs, e.g. a.outputs.predict" aria-label="step inputs" />
    <select name={`step_join_${i}`} aria-label="join type">
      {JOIN_TYPES.map((j) => <option value={j} selected={s.join === j}>{j}</option>)}
    </select>
    <RemoveBtn list="step" i={i} />
  </div>
);
const TmapRow: FC<{ i: number | string; t: DeployFormState["tensorMap"][number] }> = ({ i, t }) => (
  <div class="rowline">
    <input type="text" name={`tmap_step_${i}`} value={t.step} placeholder="step" aria-label="tensor map step" />
    <input type="text" name={`tmap_from_${i}`} value={t.from} placeholder="from tensor" aria-label="tensor map from" />
    <input type="text" name={`tmap_to_${i}`} value={t.to} placeholder="to tensor" aria-label="tensor map to" />
    <RemoveBtn list="tmap" i={i} />
  </div>
);
const CandRow: FC<{ i: number | string; c: DeployFormState["candidates"][number] }> = ({ i, c }) => (
  <div class="rowline">
    <input type="text" name={`cand_name_${i}`} value={c.name} placeholder="deployment" aria-label="candidate name" />
    <input type="number" class="weight" name={`cand_weight_${i}`} value={c.weight} min="0" max="100" aria-label="candidate weight" />
    <RemoveBtn list="cand" i={i} />
  </div>
);

export const DeployForm: FC<{ st: DeployFormState; errors: FieldErrors; csrf: string; askReplace?: boolean }> = ({ st, errors, csrf, askReplace }) => {
  const total = st.candidates.reduce((sum, c) => sum + (Number.parseInt(c.weight, 10) || 0), 0);
  return (
    <form method="post" action="/deployments" class="stack card" id="deploy-form" hx-post="/deployments" hx-target="this" hx-swap="outerHTML" novalidate>
      <Csrf token={csrf} />
      <input type="hidden" name="kind" value={st.kind} />
      <FormErrors errors={errors} shown={SHOWN} />
      <Field errors={errors} name="name" label="Deployment name">
        <input type="text" name="name" id="name" value={st.name} placeholder={st.kind === "model" ? "iris-v2" : st.kind === "pipeline" ? "chain" : "iris-ab"} />
      </Field>
      {askReplace ? <label class="replace"><input type="checkbox" name="replace" value="yes" id="replace" /> Replace it</label> : null}
      {st.kind === "model" ? (
        <>
          <Field errors={errors} name="model" label="Registered model">
            <input type="text" name="model" id="model" value={st.model} />
          </Field>
          <div class="row">
            <label class="shrink"><input type="radio" name="ref" value="version" checked={st.ref === "version"} /> version</label>
            <Field errors={errors} name="version" label="Version">
              <input type="text" name="version" id="version" value={st.version} />
            </Field>
            <label class="shrink"><input type="radio" name="ref" value="alias" checked={st.ref === "alias"} /> alias</label>
            <Field errors={errors} name="alias" label="Alias">
              <input type="text" name="alias" id="alias" value={st.alias} />
            </Field>
          </div>
        </>
      ) : null}
      {st.kind === "pipeline" ? (
        <>
          <fieldset>
            <legend>Steps (each step is a deployed model; inputs name other steps' tensors)</legend>
            <div class="rows" id="step-rows">{st.steps.map((s, i) => <StepRow i={i} s={s} />)}</div>
            <template id="step-template"><StepRow i="__N__" s={{ name: "", inputs: "", join: "inner" }} /></template>
            <AddBtn list="step" label="Add step" />
            <FieldError errors={errors} name="steps" />
          </fieldset>
          <fieldset>
            <legend>Tensor map</legend>
            <div class="rows" id="tmap-rows">{st.tensorMap.map((t, i) => <TmapRow i={i} t={t} />)}</div>
            <template id="tmap-template"><TmapRow i="__N__" t={{ step: "", from: "", to: "" }} /></template>
            <AddBtn list="tmap" label="Add mapping" />
            <FieldError errors={errors} name="tensorMap" />
          </fieldset>
          <Field errors={errors} name="outputSteps" label="Output steps (comma-separated; default: the last step)">
            <input type="text" name="outputSteps" id="outputSteps" value={st.outputSteps} />
          </Field>
        </>
      ) : null}
      {st.kind === "experiment" ? (
        <>
          <fieldset>
            <legend>Candidates and weights</legend>
            <div class="rows" id="cand-rows">{st.candidates.map((c, i) => <CandRow i={i} c={c} />)}</div>
            <template id="cand-template"><CandRow i="__N__" c={{ name: "", weight: "" }} /></template>
            <p>Total: <output id="weight-total" class={total === 100 ? "total good" : "total bad"} data-total-of="#cand-rows input.weight">{total}</output> / 100</p>
            <AddBtn list="cand" label="Add candidate" />
            <FieldError errors={errors} name="candidates" />
          </fieldset>
          <div class="row">
            <Field errors={errors} name="defaultCandidate" label="Default candidate">
              <input type="text" name="defaultCandidate" id="defaultCandidate" value={st.defaultCandidate} />
            </Field>
            <Field errors={errors} name="mirror" label="Mirror (shadow) deployment">
              <input type="text" name="mirrorName" id="mirrorName" value={st.mirrorName} placeholder="optional" />
            </Field>
            <Field errors={errors} name="mirrorPercent" label="Mirror %">
              <input type="number" name="mirrorPercent" id="mirrorPercent" value={st.mirrorPercent} min="0" max="100" />
            </Field>
          </div>
        </>
      ) : null}
      <p><button type="submit" id="deploy">Deploy</button></p>
    </form>
  );
};

export const KindTabs: FC<{ kind: string }> = ({ kind }) => (
  <p class="row">
    {DEPLOYMENT_KINDS.map((k) => (
      <a class={k === kind ? "button shrink" : "button secondary shrink"} href={`/deployments/new?kind=${k}`}>New {k}</a>
    ))}
  </p>
);
