// Deployments: list with status conditions, forms that emit deployment.requested, and undeploy.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { NotFoundError } from "../../platform/errors.ts";
import { buildEvent } from "../../platform/events/envelope.ts";
import { errorFields } from "../../platform/log.ts";
import type { DeploymentStatus } from "../../platform/ports.ts";
import type { DeploymentSpec } from "../../platform/specs/deployment.ts";
import { Badge, Csrf, KeyValues, fmtTime } from "../components.tsx";
import type { UiDeps } from "../deps.ts";
import { readForm } from "../forms.ts";
import { isHtmx, navigate, page, pageContext, pageOrFragment } from "../layout.tsx";
import { UI_SOURCE } from "../training/routes.tsx";
import { DeployForm, KindTabs } from "./forms.tsx";
import { requestedDeployments } from "./requested.ts";
import type { RequestedDeployment } from "./requested.ts";
import { TrafficPanel, trafficOf } from "./traffic.tsx";
import type { Traffic } from "./traffic.tsx";
import { applyDeployRowOp, emptyDeployForm, isDeploymentKind, readDeployForm, validateDeployForm } from "./parse.ts";

export function deploymentRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;

  app.get("/deployments", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const list = [...(await deps.serving.list())].sort((a, b) => a.name.localeCompare(b.name));
    const others = await requestedDeployments(deps, new Set(list.map((d) => d.name)));
    const table = <DeploymentsTable list={list} others={others} csrf={ctx.csrf} />;
    if (isHtmx(c)) return c.html(table);
    return page(c, ctx, "Deployments", "deployments", <>
      <h1>Deployments <span class="muted">({deps.serving.name})</span></h1>
      <KindTabs kind="" />
      {table}
    </>, { refreshWithoutJs: list.some((d) => d.state === "progressing") || others.some((o) => o.state === "requested") ? 5 : undefined });
  });

  app.get("/deployments/new", requireRole("viewer"), (c) => {
    const ctx = pageContext(c, airflow);
    const kind = c.req.query("kind");
    const st = emptyDeployForm(isDeploymentKind(kind) ? kind : "model");
    st.model = c.req.query("model") ?? "";
    st.version = c.req.query("version") ?? "";
    // A version gets a name of its own: the model's name is its production deployment, which this would replace.
    const version = c.req.query("version");
    st.name = c.req.query("name") ?? (st.model ? (version ? `${st.model}-v${version}` : st.model) : "");
    if (c.req.query("alias")) {
      st.ref = "alias";
      st.alias = c.req.query("alias") ?? "";
    }
    return page(c, ctx, `New ${st.kind} deployment`, "deployments", <>
      <h1>New {st.kind} deployment</h1>
      <KindTabs kind={st.kind} />
      <DeployForm st={st} errors={{}} csrf={ctx.csrf} />
    </>);
  });

  app.post("/deployments", csrf, requireRole("mlops-engineer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const form = await readForm(c);
    const st = readDeployForm(form);
    let askReplace = false;
    const render = (errors: Record<string, readonly string[]>, status: 200 | 422 | 502): Response | Promise<Response> =>
      pageOrFragment(c, ctx, `New ${st.kind} deployment`, "deployments", isHtmx(c) ? <DeployForm st={st} errors={errors} csrf={ctx.csrf} askReplace={askReplace} /> : <>
        <h1>New {st.kind} deployment</h1>
        <DeployForm st={st} errors={errors} csrf={ctx.csrf} askReplace={askReplace} />
      </>, { status });
    if (applyDeployRowOp(form._op, st)) return render({}, 200);
    const result = validateDeployForm(st);
    if ("errors" in result) return render(result.errors, 422);
    const missing = await missingModel(deps.models, result.spec);
    if (missing) return render(missing, 422);
    // Deploying under a name that already serves something else replaces it: say what, and ask.
    const existing = await deps.serving.get(result.spec.name);
    if (existing && form.replace !== "yes" && replaces(existing, result.spec)) {
      askReplace = true;
      const what = existing.kind === "model" ? `${existing.model ?? "?"}${existing.version ? ` v${existing.version}` : ""}` : `a ${existing.kind}`;
      return render({ name: [`${result.spec.name} already serves ${what}; deploying here replaces it for every caller. Choose another name, or tick "Replace it".`] }, 422);
    }
    const event = buildEvent("deployment.requested", { action: "deploy", spec: result.spec }, { source: UI_SOURCE, subject: result.spec.name });
    try {
      await deps.bus.emit(event);
    } catch (e) {
      deps.log.error("deployment request not accepted by the broker", errorFields(e));
      return render({ "(root)": ["The broker did not accept the request; nothing was deployed. Try again."] }, 502);
    }
    return navigate(c, `/deployments/${encodeURIComponent(result.spec.name)}`);
  });

  app.get("/deployments/:name", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const name = c.req.param("name");
    const d = await deps.serving.get(name);
    const other = d ? undefined : (await requestedDeployments(deps, new Set())).find((r) => r.name === name);
    const body = d ? <DeploymentDetail d={d} csrf={ctx.csrf} traffic={await trafficOf(deps, d)} /> : other ? <NotServing r={other} now={(deps.now ?? Date.now)()} /> : (
      <div id="deployment" data-state="unknown">
        <p class="error" role="alert">There is no deployment named {name}, and no recent request for one.</p>
        <p><a class="button" href="/deployments/new">New deployment</a></p>
      </div>
    );
    if (isHtmx(c)) return c.html(body);
    return page(c, ctx, `Deployment ${name}`, "deployments", <>
      <p class="crumbs"><a href="/deployments">Deployments</a> › {name}</p>
      <h1>Deployment {name}</h1>
      {body}
    </>, { refreshWithoutJs: (d && d.state === "progressing") || other?.state === "requested" ? 3 : undefined, status: d || other ? 200 : 404 });
  });

  app.post("/deployments/:name/undeploy", csrf, requireRole("mlops-engineer"), async (c) => {
    const name = c.req.param("name");
    const event = buildEvent("deployment.requested", { action: "undeploy", name }, { source: UI_SOURCE, subject: name });
    try {
      await deps.bus.emit(event);
    } catch (e) {
      deps.log.error("undeploy request not accepted by the broker", errorFields(e));
      return c.text("The broker did not accept the request; try again.", 502);
    }
    return navigate(c, "/deployments");
  });

  return app;
}

/** The spec would change what an existing deployment serves (another kind, model or pinned version). */
function replaces(d: DeploymentStatus, spec: DeploymentSpec): boolean {
  if (d.kind !== spec.kind) return true;
  if (spec.kind !== "model") return true;
  return d.model !== spec.model || (spec.version !== undefined && d.version !== spec.version);
}

const DeploymentsTable: FC<{ list: readonly DeploymentStatus[]; others: readonly RequestedDeployment[]; csrf: string }> = ({ list, others, csrf }) => {
  const live = list.some((d) => d.state === "progressing") || others.some((o) => o.state === "requested");
  return (
    <div id="deployments" class="scroll" {...(live ? { "hx-get": "/deployments", "hx-trigger": "every 2s", "hx-swap": "outerHTML" } : {})}>
      {list.length || others.length ? (
        <table>
          <thead><tr><th>Name</th><th>Kind</th><th>State</th><th>Model</th><th>Revision</th><th>Updated</th><th><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {others.map((o) => (
              <tr data-deployment={o.name} data-state={o.state}>
                <td><a href={`/deployments/${encodeURIComponent(o.name)}`}>{o.name}</a></td>
                <td>{o.kind}</td>
                <td><Badge value={o.state === "failed" ? "failed" : "pending"} /> {o.state === "requested" ? "requested" : null}</td>
                <td colspan={2}>{o.state === "failed" ? <span class="error">{o.reason ?? "Failed"}{o.message ? `: ${o.message}` : ""}</span> : <span class="muted">waiting for the serving backend</span>}</td>
                <td>{fmtTime(o.at)}</td>
                <td></td>
              </tr>
            ))}
            {list.map((d) => (
              <tr data-deployment={d.name}>
                <td><a href={`/deployments/${encodeURIComponent(d.name)}`}>{d.name}</a></td>
                <td>{d.kind}</td>
                <td><Badge value={d.state} /></td>
                <td>{d.model ? `${d.model}${d.version ? ` v${d.version}` : ""}` : ""}</td>
                <td class="mono">{d.revision}</td>
                <td>{fmtTime(d.updatedAt)}</td>
                <td><a href={`/playground?deployment=${encodeURIComponent(d.name)}`}>Try it</a> <UndeployForm name={d.name} csrf={csrf} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p class="muted">Nothing deployed.</p>}
    </div>
  );
};

const UndeployForm: FC<{ name: string; csrf: string }> = ({ name, csrf }) => (
  <form method="post" action={`/deployments/${encodeURIComponent(name)}/undeploy`} style="display:inline">
    <Csrf token={csrf} />
    <button type="submit" class="danger small" data-confirm={`Undeploy ${name}?`}>Undeploy</button>
  </form>
);

/** A deployment the backend does not list: failed with its reason, or still waiting (and for how long). */
const NotServing: FC<{ r: RequestedDeployment; now: number }> = ({ r, now }) => r.state === "failed" ? (
  <div id="deployment" data-state="failed" class="card">
    <p><Badge value="failed" /> The deployment could not be created.</p>
    <p class="errors" role="alert" id="deployment-reason"><strong>{r.reason ?? "Failed"}</strong>{r.message ? `: ${r.message}` : ""}</p>
    <p class="muted">Reported {fmtTime(r.at)} by event <a class="mono" href={`/activity/events/${encodeURIComponent(r.eventId)}`}>{r.eventId}</a>. Fix the spec and deploy again.</p>
    <p><a class="button" href={`/deployments/new?kind=${encodeURIComponent(r.kind)}`}>New {r.kind} deployment</a></p>
  </div>
) : (
  <div id="deployment" data-state="requested" hx-get={`/deployments/${encodeURIComponent(r.name)}`} hx-trigger="every 2s" hx-swap="outerHTML">
    <p role="status"><Badge value="pending" /> Requested {Math.round((now - r.at) / 1000)} s ago; waiting for the serving backend to report it.</p>
    {now - r.at > 30_000 ? <p class="muted">This is taking longer than usual: check the <a href="/activity">dead letters</a> for a failed delivery.</p> : null}
  </div>
);

const DeploymentDetail: FC<{ d: DeploymentStatus; csrf: string; traffic: Traffic | undefined }> = ({ d, csrf, traffic }) => (
  <div id="deployment" data-state={d.state} {...(d.state === "progressing" ? { "hx-get": `/deployments/${encodeURIComponent(d.name)}`, "hx-trigger": "every 2s", "hx-swap": "outerHTML" } : {})}>
    <div class="two">
      <div class="card">
        <KeyValues entries={[
          ["State", <Badge value={d.state} />],
          ["Kind", d.kind],
          ["Backend", d.backend],
          ["Model", d.model ? (d.version ? <a href={`/models/${encodeURIComponent(d.model)}/versions/${encodeURIComponent(d.version)}`}>{d.model} v{d.version}</a> : d.model) : "—"],
          ["Revision", <span class="mono">{d.revision}</span>],
          ["Endpoint", d.endpoint ? <span class="mono">{d.endpoint}</span> : "—"],
          ["Updated", fmtTime(d.updatedAt)],
          ...(d.reason ? [["Reason", `${d.reason}${d.message ? `: ${d.message}` : ""}`] as const] : []),
        ]} />
        {d.warnings.length ? <ul class="error">{d.warnings.map((w) => <li>{w}</li>)}</ul> : null}
        <p><a class="button" href={`/playground?deployment=${encodeURIComponent(d.name)}`}>Open in playground</a> <UndeployForm name={d.name} csrf={csrf} /></p>
      </div>
      <div class="card">
        <TrafficPanel d={d} traffic={traffic} />
        <h2>Conditions</h2>
        <table>
          <thead><tr><th>Type</th><th>Status</th><th>Reason</th><th>Message</th></tr></thead>
          <tbody>{d.conditions.map((cond) => <tr><td>{cond.type}</td><td><Badge value={cond.status} /></td><td>{cond.reason ?? ""}</td><td>{cond.message ?? ""}</td></tr>)}</tbody>
        </table>
        <h2>Spec</h2>
        <pre tabindex={0}>{JSON.stringify(d.spec, null, 2)}</pre>
      </div>
    </div>
  </div>
);

/**
 * The form's field error when the registry definitely lacks the model version or alias it names (a registry that
 * cannot be asked blocks nothing: deploy-model reports then).
 */
async function missingModel(models: UiDeps["models"], spec: DeploymentSpec): Promise<Record<string, readonly string[]> | undefined> {
  if (spec.kind !== "model" || spec.storageUri) return undefined;
  try {
    if (spec.version) {
      await models.getModelVersion(spec.model, spec.version);
      return undefined;
    }
    const alias = spec.alias ?? "champion";
    const versions = await models.searchModelVersions(spec.model);
    return versions.some((v) => v.aliases.includes(alias)) ? undefined : { alias: [`registered model ${spec.model} has no alias ${alias}`] };
  } catch (e) {
    if (!(e instanceof NotFoundError)) return undefined;
    return spec.version ? { version: [`registered model ${spec.model} has no version ${spec.version}`] } : { alias: [`registered model ${spec.model} does not exist`] };
  }
}
