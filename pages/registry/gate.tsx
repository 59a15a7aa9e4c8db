// The gate's verdict on a version, read generically from the version's gate tag or its model.promoted/rejected event,
// so richer verdicts (more scores, more fields) show without a UI change.
import type { FC } from "hono/jsx";
import { TAG } from "../../platform/lineage.ts";
import type { ModelVersionInfo } from "../../platform/ports.ts";
import { fmtNum } from "../components.tsx";
import type { UiDeps, UiStoredEvent } from "../deps.ts";

export interface Verdict {
  /** true promoted, false rejected, undefined not known (a tag without `passed`). */
  readonly passed: boolean | undefined;
  readonly metric: string | undefined;
  readonly candidate: number | undefined;
  readonly champion: number | undefined;
  readonly direction: string | undefined;
  readonly reasons: readonly string[];
  /** The holdout the champion and the candidate were both scored on (the fair gate), when the verdict names one. */
  readonly evaluation: { readonly dataset: string; readonly rows: number | undefined; readonly method: string | undefined } | undefined;
  /** Every other scalar field of the verdict (floors, sample counts, confidence, ...), flattened. */
  readonly extra: readonly (readonly [string, string])[];
  readonly from: "tag" | "event";
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const KNOWN = new Set(["passed", "metric", "candidate", "champion", "direction", "reasons"]);

function flatten(prefix: string, v: unknown, out: [string, string][]): void {
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) flatten(prefix ? `${prefix}.${k}` : k, x, out);
  else if (Array.isArray(v)) out.push([prefix, v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ")]);
  else if (typeof v === "number") out.push([prefix, fmtNum(v)]);
  else if (v !== null && v !== undefined) out.push([prefix, String(v)]);
}

/** A verdict from any gate JSON object: the known fields by name, the rest kept as key/value pairs. */
export function verdictFrom(raw: unknown, passed: boolean | undefined, from: Verdict["from"]): Verdict | undefined {
  if (!isRecord(raw)) return undefined;
  const extra: [string, string][] = [];
  for (const [k, v] of Object.entries(raw)) if (!KNOWN.has(k)) flatten(k, v, extra);
  const reasons = Array.isArray(raw.reasons) ? raw.reasons.filter((r): r is string => typeof r === "string") : typeof raw.reason === "string" ? [raw.reason] : [];
  return {
    passed: typeof raw.passed === "boolean" ? raw.passed : passed,
    metric: typeof raw.metric === "string" ? raw.metric : undefined,
    candidate: num(raw.candidate),
    champion: num(raw.champion),
    direction: typeof raw.direction === "string" ? raw.direction : undefined,
    reasons,
    evaluation: isRecord(raw.evaluation) && typeof raw.evaluation.dataset === "string"
      ? { dataset: raw.evaluation.dataset, rows: num(raw.evaluation.rows), method: typeof raw.evaluation.method === "string" ? raw.evaluation.method : undefined }
      : undefined,
    extra: extra.filter(([k]) => k !== "reason"),
    from,
  };
}

/** The version's gate tag (log-model writes it). */
export function verdictFromTags(v: ModelVersionInfo): Verdict | undefined {
  const raw = v.tags[TAG.gate];
  if (!raw) return undefined;
  try {
    return verdictFrom(JSON.parse(raw), undefined, "tag");
  } catch {
    return undefined;
  }
}

const dataOf = (e: UiStoredEvent): Record<string, unknown> => (isRecord(e.event.data) ? e.event.data : {});

/** Gate verdicts carried by recent model.promoted / model.rejected events, keyed "model/version". */
export async function verdictsFromEvents(deps: Pick<UiDeps, "events">, model: string): Promise<Map<string, Verdict>> {
  const [promoted, rejected] = await Promise.all([
    deps.events.recentEvents({ limit: 200, offset: 0, type: "dev.flywheel.model.promoted" }).catch(() => []),
    deps.events.recentEvents({ limit: 200, offset: 0, type: "dev.flywheel.model.rejected" }).catch(() => []),
  ]);
  const out = new Map<string, Verdict>();
  // Oldest first, so the newest verdict for a version wins.
  const all = [...promoted.map((e) => [e, true] as const), ...rejected.map((e) => [e, false] as const)].sort((a, b) => a[0].receivedAt - b[0].receivedAt);
  for (const [e, passed] of all) {
    const d = dataOf(e);
    if (d.model !== model || typeof d.version !== "string") continue;
    // A manual promotion or a rollback carries no gate: it says nothing about the scores.
    const v = verdictFrom(d.gate, passed, "event");
    if (v) out.set(`${model}/${d.version}`, v);
  }
  return out;
}

/** The tag when it says passed/failed; the event otherwise (and for the pass/fail word when the tag lacks it). */
export function pickVerdict(tag: Verdict | undefined, event: Verdict | undefined): Verdict | undefined {
  if (!tag) return event;
  if (tag.passed === undefined && event) return { ...tag, passed: event.passed };
  return tag;
}

export const VerdictBadge: FC<{ v: Verdict }> = ({ v }) =>
  v.passed === undefined ? <span class="badge">evaluated</span> : v.passed ? <span class="badge ok">passed</span> : <span class="badge failed">rejected</span>;

export const VerdictSummary: FC<{ v: Verdict }> = ({ v }) => (
  <span class="gate">
    <VerdictBadge v={v} />{" "}
    {v.metric ? `${v.metric} ${v.candidate !== undefined ? fmtNum(v.candidate) : "—"} vs champion ${v.champion !== undefined ? fmtNum(v.champion) : "none"}` : ""}
    {v.evaluation ? ` on ${v.evaluation.dataset} (${[v.evaluation.rows !== undefined ? `${v.evaluation.rows} rows` : "", v.evaluation.method ?? ""].filter(Boolean).join(", ")})` : ""}
    {/* A rejection is explained by its deciding (last) reason; a pass by its first. */}
    {(v.passed === false ? v.reasons.at(-1) : v.reasons[0]) ? <span class="muted"> — {v.passed === false ? v.reasons.at(-1) : v.reasons[0]}</span> : null}
  </span>
);

export const VerdictDetail: FC<{ v: Verdict }> = ({ v }) => (
  <div id="gate-verdict" data-passed={v.passed === undefined ? "unknown" : String(v.passed)}>
    <p>
      <VerdictBadge v={v} />{" "}
      {v.passed === false ? "The evaluation gate kept this version out of production." : v.passed ? "The evaluation gate let this version through." : "The evaluation gate scored this version."}
    </p>
    {v.metric ? (
      <table class="kv">
        <tbody>
          <tr><th>Metric</th><td>{v.metric}{v.direction ? <span class="muted"> ({v.direction === "minimize" ? "lower is better" : "higher is better"})</span> : null}</td></tr>
          <tr><th>This version</th><td class="num">{v.candidate !== undefined ? fmtNum(v.candidate) : "—"}</td></tr>
          <tr><th>Champion</th><td class="num">{v.champion !== undefined ? fmtNum(v.champion) : "none yet"}</td></tr>
        </tbody>
      </table>
    ) : null}
    {v.reasons.length ? <ul class="reasons">{v.reasons.map((r) => <li>{r}</li>)}</ul> : null}
    {v.extra.length ? (
      <details>
        <summary>All gate fields</summary>
        <table class="kv"><tbody>{v.extra.map(([k, val]) => <tr><th>{k}</th><td class="mono">{val}</td></tr>)}</tbody></table>
      </details>
    ) : null}
  </div>
);
