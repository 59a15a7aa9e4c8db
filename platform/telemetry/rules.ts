// Flywheel's Prometheus rules, generated (manifests/prometheus/rules.yml and the PrometheusRule): drift as PSI from
// every replica's bin counters, outliers, and alerts on the platform itself. Both modes export the same series.
import { DRIFT_BASELINE_METRIC, DRIFT_BIN_METRIC, OUTLIER_METRIC } from "../drift/counters.ts";
import { PSI_EPSILON } from "../drift/stats.ts";

export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

export interface RuleOptions {
  /** Range PSI is computed over (the "window" of served traffic). */
  readonly driftWindow: string;
  /** How long PSI must stay above the threshold before ModelDriftDetected fires. */
  readonly driftFor: string;
  readonly driftThreshold: number;
  /** PSI over fewer served values than this is noise: no alert. */
  readonly driftMinSamples: number;
  readonly outlierWindow: string;
  /** Share of a feature's served values that are outliers above which ModelOutliersHigh fires. */
  readonly outlierRatio: number;
  readonly outlierFor: string;
  /** Range and `for:` of the platform alerts. */
  readonly platformWindow: string;
  readonly platformFor: string;
  /** A retrain started longer ago than this and not finished is stuck. */
  readonly retrainStuckAfter: string;
  readonly retrainLookback: string;
  /** Live accuracy (from feedback labels) below which ModelAccuracyDropped fires, over at least this many labels. */
  readonly accuracyThreshold: number;
  readonly accuracyMinSamples: number;
  /** Range the live accuracy is summed over (every replica's feedback counters). */
  readonly accuracyWindow: string;
  readonly accuracyFor: string;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = {
  driftWindow: "30m",
  driftFor: "5m",
  driftThreshold: 0.2,
  driftMinSamples: 100,
  outlierWindow: "10m",
  outlierRatio: 0.05,
  outlierFor: "10m",
  platformWindow: "15m",
  platformFor: "10m",
  retrainStuckAfter: "2h",
  retrainLookback: "12h",
  accuracyThreshold: 0.8,
  accuracyMinSamples: 20,
  accuracyWindow: "1h",
  accuracyFor: "5m",
};

/** Recorded series names, so the dashboards, the canary queries and the tests say them once. */
export const RECORDED = {
  binCount: (w: string) => `flywheel:drift_bin_observations:increase${w}`,
  observations: (w: string) => `flywheel:drift_observations:increase${w}`,
  binProportion: (w: string) => `flywheel:drift_bin_proportion:${w}`,
  baselineProportion: "flywheel:drift_baseline_proportion:floored",
  psi: (w: string) => `flywheel:model_drift_psi:${w}`,
  predictionPsi: (w: string) => `flywheel:model_prediction_drift_psi:${w}`,
  outlierRatio: (w: string) => `flywheel:model_outlier_ratio:${w}`,
  feedback: (w: string) => `flywheel:model_feedback:increase${w}`,
  liveAccuracy: (w: string) => `flywheel:model_live_accuracy:${w}`,
} as const;

const BY_BIN = "model, version, feature, bin";
const BY_FEATURE = "model, version, feature";

/**
 * PSI = Σ_bins (a − e)·ln(a/e), a = served share of the bin over the window (summed over replicas), e = baseline share,
 * each floored at ε (docs/artifacts.md). A bin with no counter in the window still counts, as a = ε: its baseline
 * series stands in (`or`), restricted to features that had traffic.
 */
export function driftRules(o: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup {
  const w = o.driftWindow;
  const eps = PSI_EPSILON;
  const bin = RECORDED.binCount(w);
  const total = RECORDED.observations(w);
  const share = RECORDED.binProportion(w);
  const base = RECORDED.baselineProportion;
  return {
    name: "flywheel-drift",
    rules: [
      { record: bin, expr: `sum by (${BY_BIN}) (increase(${DRIFT_BIN_METRIC}[${w}]))` },
      { record: total, expr: `sum by (${BY_FEATURE}) (${bin})` },
      // Every replica of a version exports the same baseline: max picks one without adding them up.
      { record: base, expr: `clamp_min(max by (${BY_BIN}) (${DRIFT_BASELINE_METRIC}), ${eps})` },
      {
        record: share,
        expr: `clamp_min((${bin} / on (${BY_FEATURE}) group_left () (${total} > 0)) or on (${BY_BIN}) (${base} * 0 and on (${BY_FEATURE}) (${total} > 0)), ${eps})`,
      },
      { record: RECORDED.psi(w), expr: `sum by (${BY_FEATURE}) ((${share} - on (${BY_BIN}) ${base}) * ln(${share} / on (${BY_BIN}) ${base}))` },
      { record: RECORDED.predictionPsi(w), expr: `${RECORDED.psi(w)}{feature="__prediction__"}` },
      {
        alert: "ModelDriftDetected",
        expr: `max by (model, version) (${RECORDED.psi(w)} > ${o.driftThreshold} and on (${BY_FEATURE}) ${total} >= ${o.driftMinSamples})`,
        for: o.driftFor,
        labels: { severity: "warning", flywheel_action: "retrain" },
        annotations: {
          summary: "Model {{ $labels.model }} version {{ $labels.version }} is drifting",
          description:
            `The largest feature PSI of {{ $labels.model }} version {{ $labels.version }} over the last ${w} of traffic (all replicas) ` +
            `has been above ${o.driftThreshold} for ${o.driftFor} (now {{ $value | printf "%.3f" }}). Flywheel's retrain-on-drift retrains it from its champion's spec.`,
        },
      },
    ],
  };
}

export function outlierRules(o: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup {
  const w = o.outlierWindow;
  const ratio = RECORDED.outlierRatio(w);
  return {
    name: "flywheel-outliers",
    rules: [
      {
        record: ratio,
        expr: `sum by (${BY_FEATURE}) (increase(${OUTLIER_METRIC}[${w}])) / on (${BY_FEATURE}) (sum by (${BY_FEATURE}) (increase(${DRIFT_BIN_METRIC}{feature!="__prediction__"}[${w}])) > 0)`,
      },
      {
        alert: "ModelOutliersHigh",
        expr: `max by (model, version) (${ratio}) > ${o.outlierRatio}`,
        for: o.outlierFor,
        labels: { severity: "warning" },
        annotations: {
          summary: "Model {{ $labels.model }} version {{ $labels.version }} receives many outliers",
          description: `More than ${o.outlierRatio * 100}% of a feature's served values of {{ $labels.model }} version {{ $labels.version }} fell outside the training baseline (range or z-score) over ${w} (now {{ $value | printf "%.3f" }}).`,
        },
      },
    ],
  };
}

/** Alerts on Flywheel itself. Each names the mode whose series it reads where the two modes differ. */
export function platformRules(o: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup {
  const w = o.platformWindow;
  return {
    name: "flywheel-platform",
    rules: [
      {
        alert: "FlywheelDeadLettersGrowing",
        expr: `sum by (type) (increase(flywheel_dead_letters_total[${w}])) > 0`,
        for: "0m",
        labels: { severity: "warning" },
        annotations: {
          summary: "Events of type {{ $labels.type }} are being dead-lettered",
          description: `{{ $value | printf "%.0f" }} event(s) of type {{ $labels.type }} were dead-lettered in the last ${w}: delivery gave up on them. Inspect and replay them from the UI's dead letters.`,
        },
      },
      {
        alert: "FlywheelFunctionFailing",
        expr: `sum by (function) (rate(flywheel_function_invocations_total{outcome=~"error|retry"}[${w}])) / sum by (function) (rate(flywheel_function_invocations_total[${w}])) > 0.1`,
        for: o.platformFor,
        labels: { severity: "warning" },
        annotations: {
          summary: "Function {{ $labels.function }} is failing",
          description: `More than 10% of {{ $labels.function }}'s invocations failed (5xx or a retryable status) over ${w} (now {{ $value | humanizePercentage }}).`,
        },
      },
      {
        alert: "FlywheelBrokerBacklogGrowing",
        expr: `min_over_time(flywheel_broker_pending_deliveries[${w}]) > 0 and deriv(flywheel_broker_pending_deliveries[${w}]) > 0`,
        for: o.platformFor,
        labels: { severity: "warning" },
        annotations: {
          summary: "The embedded broker's backlog keeps growing",
          description: `Deliveries waiting have never drained to zero and kept growing over ${w} (now {{ $value | printf "%.0f" }}/s growth). Embedded mode: in a cluster, watch the Knative broker's own metrics.`,
        },
      },
      {
        alert: "FlywheelRetrainStuck",
        // A training started between lookback+stuckAfter and stuckAfter ago has no outcome yet: more starts than ends.
        expr:
          `sum by (model) (increase(flywheel_retrain_decisions_total{decision="started"}[${o.retrainLookback}] offset ${o.retrainStuckAfter})) ` +
          `- on (model) (sum by (model) (increase(flywheel_retrain_trainings_finished_total[${o.retrainLookback}])) or sum by (model) (increase(flywheel_retrain_decisions_total{decision="started"}[${o.retrainLookback}] offset ${o.retrainStuckAfter})) * 0) > 0.5`,
        for: o.platformFor,
        labels: { severity: "warning" },
        annotations: {
          summary: "A retrain of {{ $labels.model }} is stuck in flight",
          description: `A retrain of {{ $labels.model }} decided more than ${o.retrainStuckAfter} ago has not ended (no training.succeeded/failed/cancelled). It blocks the next drift retrain until it goes stale.`,
        },
      },
    ],
  };
}

/** Feedback labels joined per replica (platform/inference-log/accuracy.ts); the rules sum them over every replica. */
export const FEEDBACK_METRIC = "flywheel_model_feedback_total";

/**
 * Live accuracy from feedback labels, summed over every replica's counters (so it holds with many infer replicas and
 * with replicas that scaled to zero within the window): routed to retrain-on-drift like drift.
 */
export function accuracyRules(o: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup {
  const w = o.accuracyWindow;
  const labels = RECORDED.feedback(w);
  return {
    name: "flywheel-accuracy",
    rules: [
      { record: labels, expr: `sum by (model, version, outcome) (increase(${FEEDBACK_METRIC}[${w}]))` },
      {
        record: RECORDED.liveAccuracy(w),
        // `or ... * 0`: a version with only incorrect labels has no "correct" series; its accuracy is 0, not absent.
        // `> -1` drops the NaN of a version with no label in the window (0/0).
        expr: `(sum by (model, version) (${labels}{outcome="correct"}) or sum by (model, version) (${labels}) * 0) / sum by (model, version) (${labels}) > -1`,
      },
      {
        alert: "ModelAccuracyDropped",
        expr: `(${RECORDED.liveAccuracy(w)} < ${o.accuracyThreshold}) and on (model, version) (sum by (model, version) (${labels}) >= ${o.accuracyMinSamples})`,
        for: o.accuracyFor,
        labels: { severity: "warning", flywheel_action: "retrain" },
        annotations: {
          summary: "Model {{ $labels.model }} version {{ $labels.version }} is less accurate on feedback",
          description: `The live accuracy of {{ $labels.model }} version {{ $labels.version }} over its feedback labels of the last ${w} (every replica) has been below ${o.accuracyThreshold} for ${o.accuracyFor} (now {{ $value | printf "%.3f" }}). retrain-on-drift retrains it on the labelled feedback.`,
        },
      },
    ],
  };
}

export function ruleGroups(o: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup[] {
  return [driftRules(o), outlierRules(o), platformRules(o), accuracyRules(o)];
}
