// Registered models -> versions with aliases, lineage and gate result; promote and roll back by moving aliases.
import { Hono } from "hono";
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { GateResultSchema } from "../../platform/events/catalogue.ts";
import type { EventData } from "../../platform/events/catalogue.ts";
import { buildEvent } from "../../platform/events/envelope.ts";
import { ALIAS, TAG } from "../../platform/lineage.ts";
import { errorFields } from "../../platform/log.ts";
import type { ModelVersionInfo } from "../../platform/ports.ts";
import { Badge, Csrf, KeyValues, fmtTime } from "../components.tsx";
import type { UiDeps } from "../deps.ts";
import { readForm } from "../forms.ts";
import { navigate, page, pageContext } from "../layout.tsx";
import { z } from "zod";
import { UI_SOURCE } from "../training/routes.tsx";

/** Pretty JSON of a tag that holds JSON; the raw text when it does not parse. */
function jsonTag(tags: Readonly<Record<string, string>>, key: string): string | undefined {
  const raw = tags[key];
  if (raw === undefined) return undefined;
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

type Gate = EventData<"model.promoted">["gate"] & { passed?: boolean | undefined };
// log-model writes the verdict as {passed, ...gate result}.
const GateTagSchema = GateResultSchema.extend({ passed: z.boolean().optional() });
function gateOf(v: ModelVersionInfo): Gate | undefined {
  const raw = v.tags[TAG.gate];
  if (!raw) return undefined;
  try {
    const g = GateTagSchema.safeParse(JSON.parse(raw));
    return g.success ? g.data : undefined;
  } catch {
    return undefined;
  }
}

const byVersionDesc = (a: ModelVersionInfo, b: ModelVersionInfo): number => Number(b.version) - Number(a.version);

export function modelRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;

  app.get("/models", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const token = c.req.query("page_token") || undefined;
    const res = await deps.registry.searchRegisteredModels({ maxResults: 100, pageToken: token });
    return page(c, ctx, "Models", "models", <>
      <h1>Registered models</h1>
      <table>
        <thead><tr><th>Name</th><th>Aliases</th><th>Latest version</th><th>Updated</th></tr></thead>
        <tbody>
          {res.items.map((m) => (
            <tr>
              <td><a href={`/models/${encodeURIComponent(m.name)}`}>{m.name}</a></td>
              <td>{m.aliases.map((a) => <span class="badge">{a.alias} → v{a.version}</span>)}</td>
              <td>{m.latestVersion ?? ""}</td>
              <td>{fmtTime(m.lastUpdatedTimestamp)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        {token ? <a href="/models">First page</a> : null}
        {res.nextPageToken ? <a rel="next" href={`/models?page_token=${encodeURIComponent(res.nextPageToken)}`}>Next →</a> : null}
      </div>
    </>);
  });

  app.get("/models/:name", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const name = c.req.param("name");
    const versions = [...(await deps.models.searchModelVersions(name))].sort(byVersionDesc);
    const requested = c.req.query("requested");
    return page(c, ctx, `Model ${name}`, "models", <>
      <h1>Model {name}</h1>
      {requested ? <p class="flash">{requested} requested; aliases move once the registry has processed it.</p> : null}
      <form method="post" action={`/models/${encodeURIComponent(name)}/rollback`} class="card row">
        <Csrf token={ctx.csrf} />
        <span>Roll back moves <code>champion</code> to the previous champion.</span>
        <button type="submit" class="secondary shrink" id="rollback">Roll back</button>
      </form>
      <table id="versions">
        <thead><tr><th>Version</th><th>Aliases</th><th>Status</th><th>Created</th><th>Gate</th><th>Trigger</th><th></th></tr></thead>
        <tbody>
          {versions.map((v) => {
            const gate = gateOf(v);
            return (
              <tr data-version={v.version}>
                <td><a href={`/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(v.version)}`}>v{v.version}</a></td>
                <td>{v.aliases.map((a) => <span class="badge">{a}</span>)}</td>
                <td><Badge value={v.status} /></td>
                <td>{fmtTime(v.creationTimestamp)}</td>
                <td>{gate ? <GateSummary gate={gate} /> : <span class="muted">—</span>}</td>
                <td>{triggerReason(v)}</td>
                <td>
                  {v.aliases.includes(ALIAS.champion) ? null : (
                    <form method="post" action={`/models/${encodeURIComponent(name)}/promote`}>
                      <Csrf token={ctx.csrf} />
                      <input type="hidden" name="version" value={v.version} />
                      <button type="submit" class="small">Promote</button>
                    </form>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>);
  });

  app.get("/models/:name/versions/:version", requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const { name, version } = c.req.param();
    const v = await deps.models.getModelVersion(name, version);
    const gate = gateOf(v);
    const spec = jsonTag(v.tags, TAG.trainingSpec);
    const trigger = jsonTag(v.tags, TAG.trigger);
    const jobId = v.tags[TAG.jobId];
    return page(c, ctx, `${name} v${version}`, "models", <>
      <h1>{name} <span class="muted">v{version}</span></h1>
      <p>
        <a class="button" id="deploy-version" href={`/deployments/new?kind=model&model=${encodeURIComponent(name)}&version=${encodeURIComponent(version)}`}>Deploy this version</a>
      </p>
      <div class="two">
        <div class="card">
          <KeyValues entries={[
            ["Aliases", <>{v.aliases.map((a) => <span class="badge">{a}</span>)}</>],
            ["Status", <Badge value={v.status} />],
            ["Created", fmtTime(v.creationTimestamp)],
            ["Run", v.runId ? <a href={`/registry/runs/${encodeURIComponent(v.runId)}`} class="mono">{v.runId}</a> : "—"],
            ["Source", <span class="mono">{v.source}</span>],
            ["Job", jobId ? <a href={`/training/jobs/${encodeURIComponent(jobId)}`} class="mono">{jobId}</a> : "—"],
            ["Dataset", v.tags[TAG.dataset] ?? "—"],
            ["Code version", v.tags[TAG.codeVersion] ?? "—"],
            ["Flavor", v.tags[TAG.flavor] ?? "—"],
          ]} />
          <h2>Gate</h2>
          {gate ? <GateSummary gate={gate} full /> : <p class="muted">No gate result recorded.</p>}
        </div>
        <div class="card">
          <h2>Lineage: trigger</h2>
          {trigger ? <pre>{trigger}</pre> : <p class="muted">Unknown.</p>}
          <h2>Lineage: training spec</h2>
          {spec ? <pre id="training-spec">{spec}</pre> : <p class="muted">Unknown.</p>}
          {v.tags[TAG.signature] ? <><h2>Signature</h2><pre>{jsonTag(v.tags, TAG.signature)}</pre></> : null}
        </div>
      </div>
    </>);
  });

  const requestPromotion = (action: "promote" | "rollback") =>
    async (c: Context): Promise<Response> => {
      const name = c.req.param("name") ?? "";
      const form = await readForm(c);
      const version = form.version?.trim();
      if (action === "promote" && !(version && /^[0-9]+$/.test(version))) return c.text("version must be a registry version number", 400);
      const user = pageContext(c, airflow).principal?.name;
      const event = buildEvent("model.promotion.requested", { model: name, action, ...(version ? { version } : {}), ...(user ? { user } : {}) }, { source: UI_SOURCE, subject: name });
      try {
        await deps.bus.emit(event);
      } catch (e) {
        deps.log.error("promotion request not accepted by the broker", errorFields(e));
        return c.text("The broker did not accept the request; try again.", 502);
      }
      const what = action === "promote" ? `Promotion of v${version ?? ""}` : "Rollback";
      return navigate(c, `/models/${encodeURIComponent(name)}?requested=${encodeURIComponent(what)}`);
    };
  app.post("/models/:name/promote", csrf, requireRole("mlops-engineer"), requestPromotion("promote"));
  app.post("/models/:name/rollback", csrf, requireRole("mlops-engineer"), requestPromotion("rollback"));
  return app;
}

function triggerReason(v: ModelVersionInfo): string {
  const raw = v.tags[TAG.trigger];
  if (!raw) return "";
  try {
    const t: unknown = JSON.parse(raw);
    return t && typeof t === "object" && "reason" in t && typeof t.reason === "string" ? t.reason : "";
  } catch {
    return "";
  }
}

const score = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : String(Number(n.toFixed(4))));
const GateSummary: FC<{ gate: Gate; full?: boolean }> = ({ gate, full }) => (
  <span class="gate">
    {gate.passed === undefined ? null : <strong>{gate.passed ? "promoted: " : "rejected: "}</strong>}
    {`${gate.metric}: ${score(gate.candidate)} vs champion ${score(gate.champion)}`}
    {gate.evaluation ? ` on ${gate.evaluation.dataset} (${gate.evaluation.rows} rows, ${gate.evaluation.method})` : null}
    {!full && gate.passed === false && gate.reasons.length ? <span class="muted">{` — ${gate.reasons.at(-1) ?? ""}`}</span> : null}
    {full && gate.reasons.length ? <ul>{gate.reasons.map((r) => <li>{r}</li>)}</ul> : null}
  </span>
);
