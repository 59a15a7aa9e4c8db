// Public surface of the inference log: signed request ids, the logger infer calls, the store, feedback accuracy.
export { requestIds, type RequestIds } from "./ids.ts";
export { InferenceLogger, sampled, type InferenceLogSink, type Answered } from "./logger.ts";
export { FileInferenceLog, dayOf, type LogRecord, type LabelledRow } from "./store.ts";
export { LoggingPolicySchema, DEFAULT_LOGGING_POLICY, scrub, type LoggingPolicy } from "./policy.ts";
export { LiveAccuracy, type AccuracyReading, type AccuracySource } from "./accuracy.ts";
export { PrometheusAccuracy } from "./prometheus-accuracy.ts";
export { CloudEventLogSink, writeLogEvent, KSERVE_RESPONSE_TYPE } from "./events.ts";
export { inferenceLogApi } from "./api.ts";
