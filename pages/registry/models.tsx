// Registered models -> versions with aliases and gate verdict; promote and roll back (confirmed when risky), live.
import { Hono } from "hono";
import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { buildEvent } from "../../platform/events/envelope.ts";
import { ALIAS, TAG } from "../../platform/lineage.ts";
import { errorFields } from "../../platform/log.ts";
import type { ModelVersionInfo } from "../../platform/ports.ts";
import { Badge, Csrf, fmtNum, fmtTime } from "../components.tsx";
import type { UiDeps } from "../deps.ts";
import { readForm } from "../forms.ts";
import { isHtmx, navigate, page, pageContext } from "../layout.tsx";
import { UI_SOURCE } from "../training/routes.tsx";
import { VerdictDetail, VerdictSummary, pickVerdict, verdictFromTags, verdictsFromEvents } from "./gate.tsx";
import type { Verdict } from "./gate.tsx";
import { versionRoutes } from "./version.tsx";

const byVersionDesc = (a: ModelVersionInfo, b: ModelVersionInfo): number => Number(b.version) - Number(a.version);

export function modelRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  const { requireRole, csrf } = deps.auth;
  const now = deps.now ?? Date.now;

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
    const [list, fromEvents] = await Promise.all([deps.models.searchModelVersions(name), verdictsFromEvents(deps, name)]);
    const versions = [...list].sort(byVersionDesc);
    const requested = c.req.query("requested");
    const expect = c.req.query("expect");
    const until = Number(c.req.query("until") ?? "0");
    const champion = versions.find((v) => v.aliases.includes(ALIAS.champion));
    // After Promote / Roll back the table polls until the champion alias sits where it was asked to, for a minute.
    const waiting = Boolean(expect && champion?.version !== expect && now() < until);
    const self = `/models/${encodeURIComponent(name)}?${new URLSearchParams({ requested: requested ?? "", expect: expect ?? "", until: String(until) }).toString()}`;
    const table = (
      <div id="versions-live" data-champion={champion?.version ?? ""} {...(waiting ? { "hx-get": self, "hx-trigger": "every 1s", "hx-swap": "outerHTML" } : {})}>
        {requested ? (
          waiting ? <p class="flash pending" role="status">{requested} requested; waiting for the registry to move the <code>champion</code> alias…</p>
          : expect && champion?.version === expect ? <p class="flash" role="status">{requested} done: <code>champion</code> is now v{expect}.</p>
          : expect ? <p class="errors" role="alert">{requested} has not taken effect yet. See <a href={`/activity?type=model.promoted`}>recent promotions</a> and the dead letters on the <a href="/activity">activity page</a>.</p>
          : <p class="flash" role="status">{requested} requested.</p>
        ) : null}
        {/* Inside the live fragment: a promotion that lands while the page polls makes Roll back appear too. */}
        {previousChampion(versions) ? (
          <form method="post" action={`/models/${encodeURIComponent(name)}/rollback`} class="card row">
            <Csrf token={ctx.csrf} />
            <span>Roll back moves <code>champion</code> from v{champion?.version ?? "?"} back to the previous champion, v{previousChampion(versions)}.</span>
            <button type="submit" class="secondary shrink" id="rollback">Roll back…</button>
          </form>
        ) : null}
        <div class="scroll">
          <table id="versions">
            <thead><tr><th>Version</th><th>Aliases</th><th>Status</th><th>Created</th><th>Gate</th><th>Trigger</th><th><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {versions.map((v) => {
                const gate = pickVerdict(verdictFromTags(v), fromEvents.get(`${name}/${v.version}`));
                return (
                  <tr data-version={v.version}>
                    <td><a href={`/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(v.version)}`}>v{v.version}</a></td>
                    <td>{v.aliases.map((a) => <span class="badge">{a}</span>)}</td>
                    <td><Badge value={v.status} /></td>
                    <td>{fmtTime(v.creationTimestamp)}</td>
                    <td>{gate ? <VerdictSummary v={gate} /> : <span class="muted">not evaluated</span>}</td>
                    <td>{triggerReason(v)}</td>
                    <td>
                      {v.aliases.includes(ALIAS.champion) ? <span class="muted">in production</span> : (
                        <form method="post" action={`/models/${encodeURIComponent(name)}/promote`}>
                          <Csrf token={ctx.csrf} />
                          <input type="hidden" name="version" value={v.version} />
                          <button type="submit" class="small" aria-label={`Promote v${v.version}`}>Promote</button>
                        </form>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </div>
    );
    if (isHtmx(c)) return c.html(table);
    return page(c, ctx, `Model ${name}`, "models", <>
      <h1>Model {name}</h1>
      <p class="muted">The version with the <code>champion</code> alias serves production. A new version is promoted by the evaluation gate when it beats the champion; you can promote or roll back by hand.</p>
      {table}
    </>, { refreshWithoutJs: waiting ? 2 : undefined });
  });

  app.route("/", versionRoutes(deps, airflow));

  const requestPromotion = (action: "promote" | "rollback") =>
    async (c: Context): Promise<Response> => {
      const name = c.req.param("name") ?? "";
      const ctx = pageContext(c, airflow);
      const form = await readForm(c);
      const version = form.version?.trim();
      if (action === "promote" && !(version && /^[0-9]+$/.test(version))) return c.text("version must be a registry version number", 400);
      const versions = [...(await deps.models.searchModelVersions(name))];
      const champion = versions.find((v) => v.aliases.includes(ALIAS.champion));
      const target = action === "promote" ? version : previousChampion(versions);
      if (form.confirm !== "yes") {
        const fromEvents = await verdictsFromEvents(deps, name);
        const verdict = (v: ModelVersionInfo | undefined): Verdict | undefined => (v ? pickVerdict(verdictFromTags(v), fromEvents.get(`${name}/${v.version}`)) : undefined);
        const candidate = versions.find((v) => v.version === target);
        const risky = action === "rollback" || isWorse(verdict(candidate), verdict(champion));
        // A better version is promoted straight away; a worse one, or any rollback, is shown side by side first.
        if (risky) return page(c, ctx, action === "promote" ? `Promote v${version ?? ""}?` : "Roll back?", "models", <ConfirmPromotion name={name} action={action} candidate={candidate} champion={champion} cv={verdict(candidate)} hv={verdict(champion)} csrf={ctx.csrf} />);
      }
      const user = ctx.principal?.name;
      const event = buildEvent("model.promotion.requested", { model: name, action, ...(version ? { version } : {}), ...(user ? { user } : {}) }, { source: UI_SOURCE, subject: name });
      try {
        await deps.bus.emit(event);
      } catch (e) {
        deps.log.error("promotion request not accepted by the broker", errorFields(e));
        return c.text("The broker did not accept the request; try again.", 502);
      }
      const what = action === "promote" ? `Promotion of v${version ?? ""}` : "Rollback";
      const q = new URLSearchParams({ requested: what, ...(target ? { expect: target } : {}), until: String(now() + 60_000) });
      return navigate(c, `/models/${encodeURIComponent(name)}?${q.toString()}`);
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


const previousChampion = (versions: readonly ModelVersionInfo[]): string | undefined => versions.find((v) => v.aliases.includes(ALIAS.previousChampion))?.version;

/** The candidate scores worse than the champion on the gate's metric, or the gate rejected it. */
export function isWorse(candidate: Verdict | undefined, champion: Verdict | undefined): boolean {
  if (candidate?.passed === false) return true;
  const a = candidate?.candidate;
  const b = champion?.candidate;
  if (a === undefined || b === undefined || candidate?.metric !== champion?.metric) return false;
  return (candidate?.direction === "minimize") ? a > b : a < b;
}

const ConfirmPromotion: FC<{ name: string; action: "promote" | "rollback"; candidate: ModelVersionInfo | undefined; champion: ModelVersionInfo | undefined; cv: Verdict | undefined; hv: Verdict | undefined; csrf: string }> = (p) => {
  const metric = p.cv?.metric ?? p.hv?.metric;
  return (
    <div class="card" id="confirm-promotion">
      <h1>{p.action === "promote" ? `Promote ${p.name} v${p.candidate?.version ?? "?"} to champion?` : `Roll ${p.name} back to v${p.candidate?.version ?? "?"}?`}</h1>
      <p>
        {p.action === "promote"
          ? p.cv?.passed === false ? "The evaluation gate rejected this version. Promoting it sends it to production anyway." : "This version scores worse than the current champion."
          : "Rolling back moves production traffic to the previous champion."}
      </p>
      <table class="compare">
        <thead><tr><th scope="col">Compared</th><th scope="col">{p.action === "promote" ? "This version" : "Previous champion"} (v{p.candidate?.version ?? "?"})</th><th scope="col">Champion now (v{p.champion?.version ?? "none"})</th></tr></thead>
        <tbody>
          {metric ? <tr><th scope="row">{metric}</th><td class="num">{fmtNum(p.cv?.candidate)}</td><td class="num">{fmtNum(p.hv?.candidate)}</td></tr> : null}
          <tr><th scope="row">Gate</th><td>{p.cv ? <VerdictSummary v={p.cv} /> : "not evaluated"}</td><td>{p.hv ? <VerdictSummary v={p.hv} /> : "not evaluated"}</td></tr>
          <tr><th scope="row">Created</th><td>{fmtTime(p.candidate?.creationTimestamp)}</td><td>{fmtTime(p.champion?.creationTimestamp)}</td></tr>
        </tbody>
      </table>
      {p.cv ? <details><summary>Gate details of v{p.candidate?.version}</summary><VerdictDetail v={p.cv} /></details> : null}
      <form method="post" action={`/models/${encodeURIComponent(p.name)}/${p.action}`} class="row">
        <Csrf token={p.csrf} />
        <input type="hidden" name="confirm" value="yes" />
        {p.action === "promote" ? <input type="hidden" name="version" value={p.candidate?.version ?? ""} /> : null}
        <button type="submit" class="danger shrink" id="confirm">{p.action === "promote" ? `Yes, promote v${p.candidate?.version ?? ""}` : `Yes, roll back to v${p.candidate?.version ?? ""}`}</button>
        <a class="button secondary shrink" href={`/models/${encodeURIComponent(p.name)}`}>No, keep v{p.champion?.version ?? ""}</a>
      </form>
    </div>
  );
};
