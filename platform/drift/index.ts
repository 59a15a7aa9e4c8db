// Public surface of built-in drift detection.
export { BaselineSchema, parseBaseline } from "./baseline.ts";
export type { Baseline, BaselineFile, BaselineLoader, CategoricalBaseline, FeatureBaseline, NumericBaseline } from "./baseline.ts";
export { DriftMonitor, PREDICTION_FEATURE } from "./monitor.ts";
export type { DriftMonitorOptions, DriftSnapshot } from "./monitor.ts";
export { DRIFT_METHODS, PSI_EPSILON, binIndex, categoricalProportions, featureScore, isDriftMethod, ksStatistic, numericProportions, psi } from "./stats.ts";
export type { DriftMethod } from "./stats.ts";
