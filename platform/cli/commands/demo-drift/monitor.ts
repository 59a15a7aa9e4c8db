// The in-process monitor for when Prometheus and Alertmanager are not installed: it reads the platform's own
// /metrics, applies the shipped rules' conditions (drift score > 0.2; live accuracy < 0.8 over >= 20 labels) and
// posts what Alertmanager would post to the webhook trigger. Same path into retrain-on-drift, no outside servers.
import { createHash } from "node:crypto";

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ""] = l[2] ?? "";
    out.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return out;
}

/** The alerts the shipped rules would fire on these samples (by model and version). */
export function firing(samples: readonly Sample[]): { alertname: string; model: string; version: string; value: number }[] {
  const out = new Map<string, { alertname: string; model: string; version: string; value: number }>();
  const key = (s: Sample) => `${s.labels.model ?? ""}\u0000${s.labels.version ?? ""}`;
  const counts = new Map(samples.filter((s) => s.name === "flywheel_model_live_accuracy_samples").map((s) => [key(s), s.value]));
  for (const s of samples) {
    const model = s.labels.model ?? "";
    const version = s.labels.version ?? "";
    if (s.name === "flywheel_model_drift_score" && s.value > 0.2) {
      const k = `ModelDriftDetected\u0000${key(s)}`;
      out.set(k, { alertname: "ModelDriftDetected", model, version, value: Math.max(s.value, out.get(k)?.value ?? 0) });
    }
    if (s.name === "flywheel_model_live_accuracy" && s.value < 0.8 && (counts.get(key(s)) ?? 0) >= 20) {
      out.set(`ModelAccuracyDropped\u0000${key(s)}`, { alertname: "ModelAccuracyDropped", model, version, value: s.value });
    }
  }
  return [...out.values()];
}

/** An Alertmanager v4 webhook body for one alert. */
export function webhookBody(a: { alertname: string; model: string; version: string; value: number }, startsAt: string): Record<string, unknown> {
  const labels = { alertname: a.alertname, model: a.model, version: a.version, severity: "warning", flywheel_action: "retrain" };
  const fingerprint = createHash("sha256").update(JSON.stringify(labels)).digest("hex").slice(0, 16);
  return {
    version: "4", groupKey: `{}:{alertname="${a.alertname}", model="${a.model}"}`, truncatedAlerts: 0, status: "firing", receiver: "flywheel",
    groupLabels: { alertname: a.alertname, model: a.model }, commonLabels: labels, commonAnnotations: {}, externalURL: "in-process",
    alerts: [{ status: "firing", labels, annotations: { summary: `${a.alertname} (${a.value.toFixed(3)})` }, startsAt, endsAt: "0001-01-01T00:00:00Z", generatorURL: "in-process", fingerprint }],
  };
}
