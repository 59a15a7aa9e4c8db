// Drift on the activity page: per served version a badge that says what it means, the current scores, a history chart
// per feature, and a note when no alert can fire by itself.
import type { FC } from "hono/jsx";
import { BarChart, LineChart } from "../chart.tsx";
import { fmtNum } from "../components.tsx";
import type { UiDrift, UiDriftSnapshot } from "../deps.ts";

const PREDICTION = "__prediction__";
const ago = (ms: number): string => (ms < 90_000 ? `${Math.max(0, Math.round(ms / 1000))} s ago` : ms < 90 * 60_000 ? `${Math.round(ms / 60_000)} min ago` : `${fmtNum(Math.round(ms / 360_000) / 10)} h ago`);
const label = (f: string): string => (f === PREDICTION || f === "prediction" ? "predictions" : f);

export const DriftSection: FC<{ snapshots: readonly UiDriftSnapshot[]; drift: UiDrift; now: number }> = ({ snapshots, drift, now }) => {
  const a = drift.alerting;
  return (
    <section id="drift" aria-labelledby="drift-h">
      <h2 id="drift-h">Drift</h2>
      <p class="muted">
        Each served version's inputs and predictions are compared with its training data (population stability index). A feature above {fmtNum(drift.threshold)} has drifted.
        {drift.source ? ` ${drift.source}` : ""}
      </p>
      {drift.unavailable ? <p class="note" id="drift-unavailable" role="note">{drift.unavailable}</p> : null}
      {a && !(a.prometheus && a.alertmanager) ? (
        <p class="note" id="alerting-note" role="note">
          {!a.prometheus && !a.alertmanager ? "Prometheus and Alertmanager are" : !a.prometheus ? "Prometheus is" : "Alertmanager is"} not configured here, so drift never raises an alert and never
          starts a retrain by itself. The scores below are still computed; set FLYWHEEL_PROMETHEUS_URL and FLYWHEEL_ALERTMANAGER_URL (see the README) for automatic retraining.
        </p>
      ) : null}
      {snapshots.length ? snapshots.map((s) => <DriftCard s={s} threshold={drift.threshold} now={now} />) : drift.unavailable ? null : <p class="muted">No served model has enough traffic for a drift score yet (100 requests per version).</p>}
    </section>
  );
};

const DriftCard: FC<{ s: UiDriftSnapshot; threshold: number; now: number }> = ({ s, threshold, now }) => {
  const over = Object.entries(s.scores).filter(([, v]) => v > threshold).map(([f]) => label(f));
  const history = s.history ?? [];
  const features = Object.keys(s.scores).sort();
  const series = features.map((f) => ({ name: label(f), points: history.filter((h) => h.scores[f] !== undefined).map((h) => ({ x: (h.at - now) / 60_000, y: h.scores[f] ?? 0 })) }));
  return (
    <div class="card" data-drift={`${s.model}/${s.version}`}>
      <p>
        <strong>{s.model}</strong> v{s.version} ·{" "}
        {s.lastScoredAt !== undefined ? <span data-stale="true">last scored {ago(now - s.lastScoredAt)}; no new requests since the platform restarted</span> : `${s.samples} requests in the window`} ·{" "}
        {s.drifted ? (
          <span class="badge failed" data-drifted="true">drifted: {over.join(", ")} above {fmtNum(threshold)}</span>
        ) : (
          <span class="badge ok" data-drifted="false">no drift: every feature below {fmtNum(threshold)}</span>
        )}
      </p>
      <div class="two">
        <div>
          <h3>{s.lastScoredAt !== undefined ? "Last scores" : "Now"}</h3>
          <BarChart title={`Drift scores of ${s.model} v${s.version} now`} threshold={threshold} bars={features.map((f) => ({ label: label(f), value: s.scores[f] ?? 0 }))} />
        </div>
        <div>
          <h3>Over time</h3>
          {history.length > 1 ? (
            <LineChart title={`Drift of ${s.model} v${s.version} over time`} series={series} xLabel="minutes ago" yLabel="score" threshold={threshold} id={`drift-history-${s.model}-${s.version}`} />
          ) : <p class="muted">One scoring so far; the history fills in as requests arrive.</p>}
        </div>
      </div>
    </div>
  );
};
