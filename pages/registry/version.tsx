// One model version: its gate verdict, where it came from (job, run, dataset, trigger) and where it runs (deployments).
import { Hono } from "hono";
import { ALIAS, TAG } from "../../platform/lineage.ts";
import { Badge, KeyValues, fmtTime } from "../components.tsx";
import type { UiDeps } from "../deps.ts";
import { page, pageContext } from "../layout.tsx";
import { VerdictDetail, pickVerdict, verdictFromTags, verdictsFromEvents } from "./gate.tsx";
import { LineageGraph, lineageOf } from "./lineage.tsx";

/** Pretty JSON of a tag that holds JSON; the raw text when it does not parse. */
export function jsonTag(tags: Readonly<Record<string, string>>, key: string): string | undefined {
  const raw = tags[key];
  if (raw === undefined) return undefined;
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

export function versionRoutes(deps: UiDeps, airflow: boolean): Hono {
  const app = new Hono();
  app.get("/models/:name/versions/:version", deps.auth.requireRole("viewer"), async (c) => {
    const ctx = pageContext(c, airflow);
    const { name, version } = c.req.param();
    const [v, fromEvents, lineage] = await Promise.all([deps.models.getModelVersion(name, version), verdictsFromEvents(deps, name), lineageOf(deps, name, version)]);
    const gate = pickVerdict(verdictFromTags(v), fromEvents.get(`${name}/${version}`));
    const spec = jsonTag(v.tags, TAG.trainingSpec);
    const trigger = jsonTag(v.tags, TAG.trigger);
    const jobId = v.tags[TAG.jobId];
    const isChampion = v.aliases.includes(ALIAS.champion);
    const deployName = `${name}-v${version}`;
    return page(c, ctx, `${name} v${version}`, "models", <>
      <p class="crumbs"><a href="/models">Models</a> › <a href={`/models/${encodeURIComponent(name)}`}>{name}</a> › v{version}</p>
      <h1>{name} <span class="muted">v{version}</span> {v.aliases.map((a) => <span class="badge">{a}</span>)}</h1>
      <p class="row">
        <a class="button shrink" id="deploy-version" href={`/deployments/new?kind=model&model=${encodeURIComponent(name)}&version=${encodeURIComponent(version)}&name=${encodeURIComponent(deployName)}`}>Deploy this version as {deployName}</a>
        {isChampion ? <span class="muted shrink">This is the champion: it already serves as <a href={`/deployments/${encodeURIComponent(name)}`}>{name}</a>.</span> : null}
      </p>
      {/* Full width: the graph reads left to right from data to deployments, and a half-width card cut it off. */}
      <div class="card">
        <h2>Lineage</h2>
        <LineageGraph g={lineage} />
        <details>
          <summary>Trigger</summary>
          {trigger ? <pre tabindex={0}>{trigger}</pre> : <p class="muted">Unknown.</p>}
        </details>
        <details>
          <summary>Training spec</summary>
          {spec ? <pre id="training-spec" tabindex={0}>{spec}</pre> : <p class="muted">Unknown.</p>}
        </details>
        {v.tags[TAG.signature] ? <details><summary>Signature</summary><pre tabindex={0}>{jsonTag(v.tags, TAG.signature)}</pre></details> : null}
      </div>
      <div class="two start">
        <div class="card">
          <h2>Evaluation gate</h2>
          {gate ? <VerdictDetail v={gate} /> : <p class="muted" id="gate-verdict">The gate has not evaluated this version (it was registered outside log-model, or the verdict is still being recorded).</p>}
        </div>
        <div class="card">
          <h2>Where it came from</h2>
          <KeyValues entries={[
            ["Job", jobId ? <a href={`/training/jobs/${encodeURIComponent(jobId)}`} class="mono" id="version-job">{jobId}</a> : "—"],
            ["Run", v.runId ? <a href={`/registry/runs/${encodeURIComponent(v.runId)}`} class="mono" id="version-run">{v.runId}</a> : "—"],
            ["Dataset", v.tags[TAG.dataset] ?? "—"],
            ["Code version", v.tags[TAG.codeVersion] ?? "—"],
            ["Status", <Badge value={v.status} />],
            ["Created", fmtTime(v.creationTimestamp)],
            ["Flavor", v.tags[TAG.flavor] ?? "—"],
            ["Source", <span class="mono">{v.source}</span>],
          ]} />
          <h2>Where it runs</h2>
          {lineage.deployments.length ? (
            <ul id="version-deployments">{lineage.deployments.map((d) => <li><a href={`/deployments/${encodeURIComponent(d.name)}`}>{d.name}</a> <Badge value={d.state} /></li>)}</ul>
          ) : <p class="muted" id="version-deployments">Not deployed.</p>}
        </div>
      </div>
    </>);
  });
  return app;
}
