// A version's lineage as a server-rendered SVG: dataset/window → job → run → model version → deployments → events.
import type { FC } from "hono/jsx";
import { TAG } from "../../platform/lineage.ts";
import type { DeploymentStatus } from "../../platform/ports.ts";
import type { UiDeps, UiStoredEvent } from "../deps.ts";
import { eventLabel } from "../events/labels.ts";

export interface LineageNode {
  readonly kind: "data" | "job" | "run" | "version" | "deployment" | "event";
  readonly label: string;
  readonly detail?: string | undefined;
  readonly href?: string | undefined;
  /** Tooltip: the exact event type and time behind a human label. */
  readonly title?: string | undefined;
}

export interface Lineage {
  readonly columns: readonly (readonly LineageNode[])[];
  readonly deployments: readonly DeploymentStatus[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const short = (e: string): string => e.replace(/^dev\.flywheel\./, "");

/** Whether an event is about this model version (by its data: model+version, or a deployment of it, or its job). */
function concerns(e: UiStoredEvent, model: string, version: string, jobId: string | undefined, deployNames: ReadonlySet<string>): boolean {
  const d = isRecord(e.event.data) ? e.event.data : {};
  if (jobId && d.jobId === jobId) return true;
  if (d.model === model && d.version === version) return true;
  return typeof d.name === "string" && deployNames.has(d.name) && (d.version === undefined || d.version === version);
}

export async function lineageOf(deps: Pick<UiDeps, "models" | "serving" | "events">, model: string, version: string): Promise<Lineage> {
  const v = await deps.models.getModelVersion(model, version);
  const tags = v.tags;
  let spec: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(tags[TAG.trainingSpec] ?? "{}");
    if (isRecord(parsed)) spec = parsed;
  } catch {
    // An unreadable spec tag: the graph shows what the other tags say.
  }
  let trigger: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(tags[TAG.trigger] ?? "{}");
    if (isRecord(parsed)) trigger = parsed;
  } catch {
    // Likewise.
  }
  const jobId = tags[TAG.jobId];
  const deployments = (await deps.serving.list()).filter((d) => d.model === model && d.version === version);
  const names = new Set(deployments.map((d) => d.name));
  const about = { model, version, jobId, deployments: [...names], limit: 6 };
  // The store selects the version's events on its indexes, however many newer events there are; a store without that
  // query (a partial test double) is looked through newest first.
  const events = await (deps.events.eventsAbout
    ? deps.events.eventsAbout(about)
    : deps.events.recentEvents({ limit: 500, offset: 0 }).then((es) => es.filter((e) => concerns(e, model, version, jobId, names)).slice(0, 6))
  ).catch(() => []);
  const dataset = tags[TAG.dataset] ?? (typeof spec.dataset === "string" ? spec.dataset : undefined);
  const windowOf = isRecord(trigger.alert) || typeof trigger.window === "string" ? String(trigger.window ?? "drift window") : undefined;
  const data: LineageNode[] = [
    { kind: "data", label: dataset ?? "dataset not recorded", detail: windowOf ?? (typeof trigger.reason === "string" ? `trigger: ${trigger.reason}` : undefined) },
  ];
  return {
    deployments,
    columns: [
      data,
      [{ kind: "job", label: jobId ?? "job unknown", href: jobId ? `/training/jobs/${encodeURIComponent(jobId)}` : undefined, detail: typeof spec.kind === "string" ? `${spec.kind} training` : undefined }],
      [{ kind: "run", label: v.runId ? `run ${v.runId.slice(0, 10)}` : "run unknown", href: v.runId ? `/registry/runs/${encodeURIComponent(v.runId)}` : undefined }],
      [{ kind: "version", label: `${model} v${version}`, detail: v.aliases.join(", ") || undefined, href: `/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}` }],
      deployments.length ? deployments.map((d) => ({ kind: "deployment" as const, label: d.name, detail: d.state, href: `/deployments/${encodeURIComponent(d.name)}` })) : [{ kind: "deployment", label: "not deployed" }],
      events.length ? events.map((e) => ({ kind: "event" as const, label: eventLabel(e.type), detail: `${new Date(e.receivedAt).toISOString().slice(11, 19)} · ${short(e.type)}`, title: `${short(e.type)} at ${new Date(e.receivedAt).toISOString()}`, href: `/activity/events/${encodeURIComponent(e.id)}` })) : [{ kind: "event", label: "no events kept" }],
    ],
  };
}

const COL_W = 150;
const GAP = 28;
const BOX_H = 40;
const ROW_GAP = 10;
const FILL: Record<LineageNode["kind"], string> = { data: "#eef1f5", job: "#e8eefc", run: "#e8eefc", version: "#fff4e0", deployment: "#e3f4e8", event: "#f4f0fa" };

/** Columns left to right, arrows between consecutive columns; nodes with a page are links. */
export const LineageGraph: FC<{ g: Lineage }> = ({ g }) => {
  const rows = Math.max(...g.columns.map((c) => c.length));
  const h = rows * (BOX_H + ROW_GAP) + 20;
  const w = g.columns.length * (COL_W + GAP);
  const y = (col: number, i: number): number => 10 + i * (BOX_H + ROW_GAP) + ((rows - (g.columns[col]?.length ?? 1)) * (BOX_H + ROW_GAP)) / 2;
  return (
    <div class="scroll">
      <svg class="chart lineage" id="lineage" viewBox={`0 0 ${w} ${h}`} role="group" aria-label="Lineage: data, job, run, model version, deployments and events" style={`min-width:${w}px`}>
        <title>Lineage</title>
        <defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#5b6676" /></marker></defs>
        {g.columns.slice(1).map((col, ci) => {
          const prev = g.columns[ci] ?? [];
          return col.map((_, i) => prev.map((__, j) => (
            <line x1={ci * (COL_W + GAP) + COL_W} y1={y(ci, j) + BOX_H / 2} x2={(ci + 1) * (COL_W + GAP) - 2} y2={y(ci + 1, i) + BOX_H / 2} stroke="#9aa5b4" marker-end="url(#arrow)" />
          )));
        })}
        {g.columns.map((col, ci) => col.map((n, i) => {
          const box = (
            <g data-kind={n.kind}>
              {n.title ? <title>{n.title}</title> : null}
              <rect x={ci * (COL_W + GAP)} y={y(ci, i)} width={COL_W} height={BOX_H} rx={5} fill={FILL[n.kind]} stroke="#9aa5b4" />
              <text x={ci * (COL_W + GAP) + 6} y={y(ci, i) + 16} class="node-label">{n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label}</text>
              {n.detail ? <text x={ci * (COL_W + GAP) + 6} y={y(ci, i) + 32}>{n.detail.length > 24 ? `${n.detail.slice(0, 23)}…` : n.detail}</text> : null}
            </g>
          );
          return n.href ? <a href={n.href}>{box}</a> : box;
        }))}
      </svg>
    </div>
  );
};
