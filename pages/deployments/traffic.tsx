// Traffic of a deployment: requests, error rate, p50/p99 per candidate (A/B arms, canary arms) or of a single model,
// and a running canary's progress toward its decision.
import type { FC } from "hono/jsx";
import type { DeploymentStatus } from "../../platform/ports.ts";
import { fmtNum } from "../components.tsx";
import type { UiCanary, UiCandidateStats, UiDeps } from "../deps.ts";

export interface Traffic {
  readonly stats: Readonly<Record<string, UiCandidateStats>> | undefined;
  readonly canary: UiCanary | undefined;
  readonly weights: Readonly<Record<string, number>>;
  readonly now: number;
  /** Set when the source failed (Prometheus unreachable): the figures are missing, not zero. */
  readonly failed?: string | undefined;
  readonly source?: string | undefined;
  readonly unavailable?: string | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Candidate weights from an experiment's spec ({candidates: [{name, weight}]}). */
function weightsOf(spec: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isRecord(spec) || !Array.isArray(spec.candidates)) return out;
  for (const c of spec.candidates) if (isRecord(c) && typeof c.name === "string" && typeof c.weight === "number") out[c.name] = c.weight;
  return out;
}

export async function trafficOf(deps: Pick<UiDeps, "traffic" | "now" | "log">, d: DeploymentStatus): Promise<Traffic | undefined> {
  const t = deps.traffic;
  if (!t) return undefined;
  const base = { weights: weightsOf(d.spec), now: (deps.now ?? Date.now)(), source: t.source, unavailable: t.unavailable };
  if (t.unavailable) return { ...base, stats: undefined, canary: undefined };
  const canary = await Promise.resolve(t.canary?.(d.name)).catch((e: unknown) => {
    deps.log.warn("canary record not readable", { deployment: d.name, error: e instanceof Error ? e.message : String(e) });
    return undefined;
  });
  try {
    return { ...base, stats: await t.stats(d.name), canary };
  } catch (e) {
    // The page still renders: a failed source is said as such, never shown as a 500 or as zero traffic.
    deps.log.warn("traffic not readable", { deployment: d.name, error: e instanceof Error ? e.message : String(e) });
    return { ...base, stats: undefined, canary, failed: "The traffic figures could not be read just now (the metrics source did not answer). They are missing, not zero: reload in a moment." };
  }
}

const pct = (n: number, d: number): string => (d ? `${((100 * n) / d).toFixed(1)}%` : "—");
const ms = (v: number | undefined): string => (v === undefined ? "—" : `${fmtNum(Math.round(v * 10) / 10)} ms`);

export const TrafficPanel: FC<{ d: DeploymentStatus; traffic: Traffic | undefined }> = ({ d, traffic }) => {
  if (!traffic) return null;
  const rows = Object.entries(traffic.stats ?? {});
  const total = rows.reduce((s, [, r]) => s + r.requests, 0);
  const estimated = rows.some(([, r]) => r.estimated);
  const single = d.kind === "model";
  const c = traffic.canary;
  return (
    <section id="traffic" aria-labelledby="traffic-h">
      <h2 id="traffic-h">Traffic</h2>
      {c ? <CanaryProgress c={c} stats={traffic.stats} now={traffic.now} /> : null}
      {traffic.unavailable ? <p class="note" id="traffic-unavailable" role="note">{traffic.unavailable}</p> : null}
      {traffic.failed ? <p class="error" role="alert" id="traffic-failed">{traffic.failed}</p> : null}
      {rows.length ? (
        <div class="scroll">
          <table id="traffic-table">
            <thead><tr><th scope="col">{c ? "Arm" : single ? "Model" : "Candidate"}</th><th scope="col" class="num">Weight</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Share</th><th scope="col" class="num">Error rate</th><th scope="col" class="num">p50</th><th scope="col" class="num">p99</th></tr></thead>
            <tbody>
              {rows.map(([name, r]) => (
                <tr data-candidate={name}>
                  <td>{single ? `${name} v${d.version ?? "?"}` : <a href={`/deployments/${encodeURIComponent(name)}`}>{name}</a>}{c?.candidate.deployment === name ? <span class="badge">candidate</span> : c?.stable.deployment === name ? <span class="badge">stable</span> : null}</td>
                  <td class="num">{single ? "100%" : traffic.weights[name] !== undefined ? `${traffic.weights[name]}%` : "—"}</td>
                  <td class="num">{r.requests}</td>
                  <td class="num">{pct(r.requests, total)}</td>
                  <td class="num">{pct(r.errors, r.requests)}</td>
                  <td class="num">{r.requests ? ms(r.p50Ms) : "—"}</td>
                  <td class="num">{r.requests ? ms(r.p99Ms ?? r.p95Ms) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : traffic.unavailable || traffic.failed ? null : (
        <p class="muted" id="traffic-empty">{traffic.stats ? "No requests yet: send some from the playground." : "This deployment's traffic is not tallied here: pipelines count their steps' requests on each step's own page."}</p>
      )}
      {rows.length ? (
        <p class="muted">
          {traffic.source ??
            (estimated
            ? "Since the platform started, every request this version served (directly or as an experiment's arm); p50 and p99 are estimated from the latency histogram's buckets, as Prometheus does."
            : "Since the deployment last started; latencies over the last 2048 requests per arm.")}{" "}
          Errors count server failures only (a caller's bad input is not the model's fault).
        </p>
      ) : null}
    </section>
  );
};

const CanaryProgress: FC<{ c: UiCanary; stats: Traffic["stats"]; now: number }> = ({ c, stats, now }) => {
  const reqs = stats?.[c.candidate.deployment]?.requests ?? 0;
  const mins = (now - c.startedAt) / 60_000;
  const byReqs = Math.min(1, reqs / c.decideAfterRequests);
  const byTime = Math.min(1, mins / c.decideAfterMinutes);
  const done = Math.max(byReqs, byTime);
  return (
    <div class="canary" id="canary">
      <p>
        <strong>Canary</strong>: v{c.candidate.version} gets {c.percent}% of traffic next to v{c.stable.version}. It is promoted or rolled back after {c.decideAfterRequests} candidate requests or {fmtNum(c.decideAfterMinutes)} minutes, whichever comes first.
      </p>
      <label for="canary-progress">Progress to the decision: {Math.round(done * 100)}% ({reqs}/{c.decideAfterRequests} requests, {mins.toFixed(1)}/{fmtNum(c.decideAfterMinutes)} min)</label>
      <progress id="canary-progress" max={100} value={Math.round(done * 100)}>{Math.round(done * 100)}%</progress>
    </div>
  );
};
