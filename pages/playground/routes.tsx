// Inference playground: a form built from the deployment's V2 metadata, the exact V2 exchange, a raw editor, NL input.
import { Hono } from "hono";
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { ValidationError, isKnownError, toHttpError } from "../../platform/errors.ts";
import { Csrf, Field, FormErrors } from "../components.tsx";
import type { FieldErrors } from "../components.tsx";
import type { UiDeps, V2InferRequest, V2ModelMetadata } from "../deps.ts";
import { readForm } from "../forms.ts";
import type { FormBody } from "../forms.ts";
import { isHtmx, page, pageContext } from "../layout.tsx";
import { buildRequest, classProbabilities, describePrediction, featureFields, labelsOf, probabilitiesFromDecoded } from "./tensors.ts";
import type { ClassProbability } from "./tensors.ts";

interface Outcome {
  readonly prediction?: string | undefined;
  /** Class probabilities, most likely first, when the model gives them. */
  readonly probabilities?: readonly ClassProbability[] | undefined;
  readonly request?: unknown;
  readonly response?: unknown;
  readonly error?: string | undefined;
}

/** A safe message for a failed call: our own error taxonomy's message, never an upstream body. */
const failure = (e: unknown): string => {
  if (e instanceof ValidationError) return e.issues.map((i) => (i.field === "text" ? i.message : `${i.field}: ${i.message}`)).join("; ");
  return isKnownError(e) ? e.message : "the inference call failed";
};
type Status = 200 | 400 | 401 | 403 | 404 | 409 | 422 | 502;
const CLIENT_STATUSES: readonly Status[] = [400, 401, 403, 404, 409, 422];
/** The caller's mistake (unknown deployment, bad input) and the inference access check's refusal (401/403) keep their
 * 4xx (htmx swaps it, and the user sees why); only a failing upstream is a 502. */
const failureStatus = (e: unknown): Status => CLIENT_STATUSES.find((s) => s === toHttpError(e).status) ?? 502;

export function playgroundRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;

  const metadataOf = async (name: string): Promise<V2ModelMetadata | string> => {
    const m = await metadataOrFailure(name);
    return m.meta ?? m.error ?? failure(undefined);
  };
  const metadataOrFailure = async (name: string): Promise<{ meta?: V2ModelMetadata; error?: string; status: Status }> => {
    try {
      return { meta: await deps.inference.metadata(name), status: 200 };
    } catch (e) {
      return { error: failure(e), status: failureStatus(e) };
    }
  };

  const render = async (c: Context, name: string, form: FormBody, errors: FieldErrors, outcome: Outcome | undefined, status: Status = 200): Promise<Response> => {
    const ctx = pageContext(c, airflow);
    const result = <Result outcome={outcome} />;
    if (isHtmx(c)) return c.html(result, status);
    const list = await deps.serving.list();
    const meta = name ? await metadataOf(name) : undefined;
    return page(c, ctx, "Inference playground", "playground", <>
      <h1>Inference playground</h1>
      <form method="get" action="/playground" class="row card">
        <label>
          Deployment{" "}
          <select name="deployment" id="deployment" onchange="this.form.submit()">
            <option value="">choose…</option>
            {list.map((d) => <option value={d.name} selected={d.name === name}>{d.name} ({d.state})</option>)}
          </select>
        </label>
        <button type="submit" class="shrink secondary">Open</button>
      </form>
      {typeof meta === "string" ? <p class="error" role="alert">Metadata unavailable: {meta}</p> : null}
      {meta && typeof meta !== "string" ? <Forms name={name} meta={meta} form={form} errors={errors} csrf={ctx.csrf} nl={Boolean(deps.inference.inferText)} /> : null}
      {result}
    </>, { status });
  };

  app.get("/playground", requireRole("viewer"), (c) => render(c, c.req.query("deployment") ?? "", {}, {}, undefined));

  app.post("/playground/infer", csrf, requireRole("data-scientist"), async (c) => {
    const form = await readForm(c);
    const name = form.deployment ?? "";
    const found = await metadataOrFailure(name);
    const meta = found.meta;
    if (!meta) return render(c, name, form, {}, { error: found.error }, found.status);
    const built = buildRequest(meta, form);
    // The messages also go in the result panel: an htmx swap replaces only that panel, not the form.
    if ("errors" in built) return render(c, name, form, built.errors.value, { error: Object.values(built.errors.value).flat().join("; ") }, 422);
    return call(c, name, form, meta, built.request);
  });

  app.post("/playground/raw", csrf, requireRole("data-scientist"), async (c) => {
    const form = await readForm(c);
    const name = form.deployment ?? "";
    let request: V2InferRequest;
    try {
      const parsed: unknown = JSON.parse(form.raw ?? "");
      if (!parsed || typeof parsed !== "object" || !("inputs" in parsed) || !Array.isArray(parsed.inputs)) throw new Error("no inputs");
      request = { ...parsed, inputs: parsed.inputs };
    } catch {
      return render(c, name, form, { raw: ["must be a JSON V2 inference request with an inputs array"] }, { error: "The JSON request is not valid: it needs an inputs array." }, 422);
    }
    const meta = await metadataOf(name);
    return call(c, name, form, typeof meta === "string" ? undefined : meta, request);
  });

  app.post("/playground/text", csrf, requireRole("data-scientist"), async (c) => {
    const form = await readForm(c);
    const name = form.deployment ?? "";
    const text = (form.text ?? "").trim();
    if (!deps.inference.inferText) return render(c, name, form, {}, { error: "Natural-language input is not configured (FLYWHEEL_LLM_URL)." }, 422);
    if (!text) return render(c, name, form, { text: ["describe the input in words"] }, { error: "Nothing to send." }, 422);
    try {
      const r = await deps.inference.inferText(name, text);
      const decoded = probabilitiesFromDecoded(r.predictions);
      return render(c, name, form, {}, { prediction: decoded.label ?? JSON.stringify(r.predictions), probabilities: decoded.probs, request: r.request, response: r.response });
    } catch (e) {
      const status = failureStatus(e);
      return render(c, name, form, status < 500 ? { text: [failure(e)] } : {}, { error: failure(e) }, status);
    }
  });

  const call = async (c: Context, name: string, form: FormBody, meta: V2ModelMetadata | undefined, request: V2InferRequest): Promise<Response> => {
    try {
      const response = await deps.inference.inferV2(name, request);
      const labels = meta ? labelsOf(meta) : undefined;
      return render(c, name, form, {}, { prediction: describePrediction(response, labels), probabilities: classProbabilities(response, labels), request, response });
    } catch (e) {
      return render(c, name, form, {}, { error: failure(e), request }, failureStatus(e));
    }
  };

  return app;
}

const Forms: FC<{ name: string; meta: V2ModelMetadata; form: FormBody; errors: FieldErrors; csrf: string; nl: boolean }> = ({ name, meta, form, errors, csrf, nl }) => {
  const fields = featureFields(meta);
  const example = JSON.stringify({ inputs: meta.inputs.map((i) => ({ name: i.name, shape: i.shape.map((d) => (d < 0 ? 1 : d)), datatype: i.datatype, data: [] })) }, null, 2);
  return (
    <div class="two">
      <form method="post" action="/playground/infer" class="stack card" id="infer-form" hx-post="/playground/infer" hx-target="#result" hx-swap="outerHTML">
        <Csrf token={csrf} />
        <input type="hidden" name="deployment" value={name} />
        <h2>Features of {meta.name}</h2>
        <FormErrors errors={errors} shown={[...fields.map((_, i) => `f_${i}`), "raw", "text"]} />
        {fields.map((f, i) => (
          <Field errors={errors} name={`f_${i}`} label={`${f.name} (${f.datatype})`}>
            <input type="text" name={`f_${i}`} id={`f_${i}`} value={form[`f_${i}`] ?? ""} inputmode={f.datatype === "BYTES" ? undefined : "decimal"} data-feature={f.name} />
          </Field>
        ))}
        <p><button type="submit" id="predict">Predict</button></p>
      </form>
      <div>
        <form method="post" action="/playground/raw" class="stack card" hx-post="/playground/raw" hx-target="#result" hx-swap="outerHTML">
          <Csrf token={csrf} />
          <input type="hidden" name="deployment" value={name} />
          <Field errors={errors} name="raw" label="Request as JSON (Open Inference Protocol V2)" hint="For tensors the form above cannot express: edit the data arrays, then send. The answer is the model server's own.">
            <textarea name="raw" id="raw" rows={10}>{form.raw ?? example}</textarea>
          </Field>
          <p><button type="submit" class="secondary" id="send-json">Send JSON request</button></p>
        </form>
        {nl ? (
          <form method="post" action="/playground/text" class="stack card" hx-post="/playground/text" hx-target="#result" hx-swap="outerHTML">
            <Csrf token={csrf} />
            <input type="hidden" name="deployment" value={name} />
            <Field errors={errors} name="text" label="Describe the input in words">
              <input type="text" name="text" id="text" value={form.text ?? ""} placeholder="a flower with 5.1 cm sepals and 1.4 cm petals" />
            </Field>
            <p><button type="submit" class="secondary">Ask</button></p>
          </form>
        ) : null}
      </div>
    </div>
  );
};

const Result: FC<{ outcome: Outcome | undefined }> = ({ outcome }) => (
  <div id="result" class="card">
    {!outcome ? <p class="muted">The prediction and the exact V2 request and response appear here.</p> : null}
    {outcome?.error ? <p class="error" role="alert">{outcome.error}</p> : null}
    {outcome?.prediction !== undefined ? <p>Prediction: <span class="prediction" id="prediction">{outcome.prediction}</span></p> : null}
    {outcome?.probabilities?.length ? (
      <table class="proba" id="probabilities">
        <caption class="sr-only">Class probabilities</caption>
        <thead><tr><th scope="col">Class</th><th scope="col" class="num">Probability</th><th scope="col"><span class="sr-only">Bar</span></th></tr></thead>
        <tbody>
          {outcome.probabilities.map((p, i) => (
            <tr class={i === 0 ? "top" : undefined} data-class={p.label}>
              <td>{p.label}</td>
              <td class="num">{(p.p * 100).toFixed(1)}%</td>
              <td class="bar"><span class="fill" style={`width:${Math.max(0, Math.min(100, p.p * 100)).toFixed(1)}%`}></span></td>
            </tr>
          ))}
        </tbody>
      </table>
    ) : null}
    {outcome?.request !== undefined ? <details><summary>V2 request</summary><pre id="v2-request" tabindex={0}>{JSON.stringify(outcome.request, null, 2)}</pre></details> : null}
    {outcome?.response !== undefined ? <details><summary>V2 response</summary><pre id="v2-response" tabindex={0}>{JSON.stringify(outcome.response, null, 2)}</pre></details> : null}
  </div>
);
