// Public surface of built-in drift detection.
export { BaselineSchema, parseBaseline } from "./baseline.ts";
export type { Baseline, BaselineFile, BaselineLoader, CategoricalBaseline, FeatureBaseline, NumericBaseline } from "./baseline.ts";
export { DriftMonitor, PREDICTION_FEATURE } from "./monitor.ts";
export type { DriftMonitorOptions, DriftSnapshot } from "./monitor.ts";
export { StateDriftHistory } from "./history.ts";
export type { DriftHistoryOptions, DriftPoint } from "./history.ts";
export { DRIFT_METHODS, PSI_EPSILON, binIndex, categoricalProportions, featureScore, isDriftMethod, ksStatistic, numericProportions, psi } from "./stats.ts";
export type { DriftMethod } from "./stats.ts";
export { DriftCounters, DRIFT_BASELINE_METRIC, DRIFT_BIN_METRIC, fanOut, OUTLIER_METRIC } from "./counters.ts";
export type { DriftCountersOptions } from "./counters.ts";
export { baselineBins, featureBins, seriesPerVersion, UNSEEN_BIN } from "./bins.ts";
export type { FeatureBins } from "./bins.ts";
export { DEFAULT_OUTLIER_Z, outlierTest } from "./outliers.ts";
export type { OutlierTest } from "./outliers.ts";
