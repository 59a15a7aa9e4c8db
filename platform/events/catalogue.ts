// The event catalogue: every dev.flywheel.* type of the loop, with a zod schema for `data` and a versioned dataschema.
import * as z from "zod";
import { $TriggerRefSchema, $TrainingRequestedDataSchema, $JobRefSchema, $TrainingStartedSchema, $TrainingSucceededSchema, $TrainingFailedSchema, $TrainingCancelledSchema } from "./training-data.ts";
import { $ModelLoggedSchema, $GateEvaluationSchema, $GateResultSchema, $ModelPromotedSchema, $ModelRejectedSchema, $PromotionRequestedSchema } from "./model-data.ts";
import { $DeploymentRequestedSchema, $CanaryEvidenceSchema, $DeploymentStatusSchema, $AlertSchema, $RetrainDecisionSchema, $InferenceRequestedSchema, $InferenceCompletedSchema, $FeedbackItemSchema, $InferenceFeedbackSchema } from "./serving-data.ts";

export const EVENT_PREFIX = "dev.flywheel.";
export const DATASCHEMA_BASE = "https://flywheel.dev/schemas/events";

/**
 * Every schema is built on first use, not at import: envelope.ts pulls this module into every function, and building
 * ~100 zod schemas up front cost each cold start ~30 ms for types most functions never validate. Memoised: built once.
 */

/** The named schemas, for importers that validate one shape directly; z.lazy defers building to the first parse. */
export const TriggerRefSchema = z.lazy($TriggerRefSchema);
export const TrainingRequestedDataSchema = z.lazy($TrainingRequestedDataSchema);
export const JobRefSchema = z.lazy($JobRefSchema);
export const TrainingStartedSchema = z.lazy($TrainingStartedSchema);
export const TrainingSucceededSchema = z.lazy($TrainingSucceededSchema);
export const TrainingFailedSchema = z.lazy($TrainingFailedSchema);
export const TrainingCancelledSchema = z.lazy($TrainingCancelledSchema);
export const ModelLoggedSchema = z.lazy($ModelLoggedSchema);
export const GateEvaluationSchema = z.lazy($GateEvaluationSchema);
export const GateResultSchema = z.lazy($GateResultSchema);
export const ModelPromotedSchema = z.lazy($ModelPromotedSchema);
export const ModelRejectedSchema = z.lazy($ModelRejectedSchema);
export const PromotionRequestedSchema = z.lazy($PromotionRequestedSchema);
export const DeploymentRequestedSchema = z.lazy($DeploymentRequestedSchema);
export const CanaryEvidenceSchema = z.lazy($CanaryEvidenceSchema);
export const DeploymentStatusSchema = z.lazy($DeploymentStatusSchema);
export const AlertSchema = z.lazy($AlertSchema);
export const RetrainDecisionSchema = z.lazy($RetrainDecisionSchema);
export const InferenceRequestedSchema = z.lazy($InferenceRequestedSchema);
export const InferenceCompletedSchema = z.lazy($InferenceCompletedSchema);
export const FeedbackItemSchema = z.lazy($FeedbackItemSchema);
export const InferenceFeedbackSchema = z.lazy($InferenceFeedbackSchema);

export type TriggerRef = z.output<typeof TriggerRefSchema>;
export type GateEvaluation = z.output<typeof GateEvaluationSchema>;

/** The catalogue. Key = type suffix after "dev.flywheel.". Each `schema` is a getter that builds on first read. */
export const CATALOGUE = {
  "training.requested": { get schema() { return $TrainingRequestedDataSchema(); }, version: "1.0" },
  "training.started": { get schema() { return $TrainingStartedSchema(); }, version: "1.0" },
  "training.succeeded": { get schema() { return $TrainingSucceededSchema(); }, version: "1.0" },
  "training.failed": { get schema() { return $TrainingFailedSchema(); }, version: "1.0" },
  "training.cancelled": { get schema() { return $TrainingCancelledSchema(); }, version: "1.0" },
  "model.logged": { get schema() { return $ModelLoggedSchema(); }, version: "1.0" },
  "model.promoted": { get schema() { return $ModelPromotedSchema(); }, version: "1.0" },
  "model.rejected": { get schema() { return $ModelRejectedSchema(); }, version: "1.0" },
  "model.promotion.requested": { get schema() { return $PromotionRequestedSchema(); }, version: "1.0" },
  "deployment.requested": { get schema() { return $DeploymentRequestedSchema(); }, version: "1.0" },
  "deployment.ready": { get schema() { return $DeploymentStatusSchema(); }, version: "1.0" },
  "deployment.failed": { get schema() { return $DeploymentStatusSchema(); }, version: "1.0" },
  "deployment.promoted": { get schema() { return $DeploymentStatusSchema(); }, version: "1.0" },
  "deployment.rolled_back": { get schema() { return $DeploymentStatusSchema(); }, version: "1.0" },
  "deployment.removed": { get schema() { return $DeploymentStatusSchema(); }, version: "1.0" },
  "alert.firing": { get schema() { return $AlertSchema(); }, version: "1.0" },
  "alert.resolved": { get schema() { return $AlertSchema(); }, version: "1.0" },
  "retrain.decided": { get schema() { return $RetrainDecisionSchema(); }, version: "1.0" },
  "inference.requested": { get schema() { return $InferenceRequestedSchema(); }, version: "1.0" },
  "inference.completed": { get schema() { return $InferenceCompletedSchema(); }, version: "1.0" },
  "inference.feedback": { get schema() { return $InferenceFeedbackSchema(); }, version: "1.0" },
} as const satisfies Record<string, { schema: z.ZodType; version: string }>;

export type EventName = keyof typeof CATALOGUE;
export const EVENT_NAMES = Object.keys(CATALOGUE) as EventName[];
export type EventType = `${typeof EVENT_PREFIX}${EventName}`;
export type EventData<N extends EventName> = z.output<(typeof CATALOGUE)[N]["schema"]>;
export type EventDataInput<N extends EventName> = z.input<(typeof CATALOGUE)[N]["schema"]>;

export const eventType = <N extends EventName>(name: N): `${typeof EVENT_PREFIX}${N}` => `${EVENT_PREFIX}${name}`;
export const isEventName = (v: unknown): v is EventName => typeof v === "string" && v in CATALOGUE;
export const dataschemaFor = (name: EventName): string => `${DATASCHEMA_BASE}/${name}/v${CATALOGUE[name].version}.json`;

/** Knative source event types the embedded twins emit unchanged. */
export const PING_EVENT_TYPE = "dev.knative.sources.ping";
export const KAFKA_EVENT_TYPE = "dev.knative.kafka.event";
