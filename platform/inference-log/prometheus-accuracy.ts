// Live accuracy read from Prometheus: every replica's feedback counters summed over the accuracy rule's window, so the
// rollback policy compares the same numbers ModelAccuracyDropped sees, whichever replica took the feedback.
import type { PrometheusQuery } from "../telemetry/prometheus.ts";
import { DEFAULT_RULE_OPTIONS, FEEDBACK_METRIC } from "../telemetry/rules.ts";
import type { AccuracyReading, AccuracySource } from "./accuracy.ts";

/** PromQL string literal. */
const q = (s: string): string => JSON.stringify(s);

export class PrometheusAccuracy implements AccuracySource {
  readonly source = "prometheus";
  readonly #prometheus: PrometheusQuery;
  readonly #window: string;

  constructor(o: { prometheus: PrometheusQuery; window?: string | undefined }) {
    this.#prometheus = o.prometheus;
    this.#window = o.window ?? DEFAULT_RULE_OPTIONS.accuracyWindow;
  }

  async get(model: string, version: string): Promise<AccuracyReading | undefined> {
    const sel = `model=${q(model)}, version=${q(version)}`;
    const v = await this.#prometheus.query(`sum by (outcome) (increase(${FEEDBACK_METRIC}{${sel}}[${this.#window}]))`);
    let correct = 0;
    let total = 0;
    for (const s of v) {
      if (!Number.isFinite(s.value)) continue;
      total += s.value;
      if (s.labels.outcome === "correct") correct += s.value;
    }
    // increase() extrapolates at the window's edges: the count is an estimate, the ratio is what the policy compares.
    if (total <= 0) return undefined;
    return { accuracy: correct / total, samples: Math.round(total) };
  }
}
