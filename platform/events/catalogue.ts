// The event catalogue: every dev.flywheel.* type of the loop, with a zod schema for `data` and a versioned dataschema.
import * as z from "zod";
import { once } from "../once.ts";
import { DeploymentSpecSchema } from "../specs/deployment.ts";
import { TRAINING_REASONS, trainingSpecBase, TrainingSpecSchema, refineTrainingSpec } from "../specs/training.ts";

export const EVENT_PREFIX = "dev.flywheel.";
export const DATASCHEMA_BASE = "https://flywheel.dev/schemas/events";

/**
 * Every schema is built on first use, not at import: envelope.ts pulls this module into every function, and building
 * ~100 zod schemas up front cost each cold start ~30 ms for types most functions never validate. Memoised: built once.
 */

const $millis = once(() => z.number().int().nonnegative());

/** What caused a training: lineage recorded on the model version. */
const $TriggerRefSchema = once(() =>
  z
    .object({
      reason: z.enum(TRAINING_REASONS),
      /** id of the event that started the chain (alert event, ping, Kafka record, API request). */
      eventId: z.string().optional(),
      alert: z
        .object({ alertname: z.string(), fingerprint: z.string(), startsAt: z.string(), labels: z.record(z.string(), z.string()) })
        .optional(),
      schedule: z.string().optional(),
      kafka: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }).optional(),
      user: z.string().optional(),
    })
    .strict(),
);

/** training.requested: `data` is the training spec itself (surface.md), plus an optional trigger reference. */
const $TrainingRequestedDataSchema = once(() =>
  trainingSpecBase().extend({ trigger: $TriggerRefSchema().optional() })
    .strict()
    .superRefine(refineTrainingSpec),
);

const $JobRefSchema = once(() =>
  z
    .object({
      jobId: z.string().min(1),
      model: z.string().min(1),
      kind: z.enum(["single", "ddp", "spark"]),
      backend: z.enum(["local", "kubernetes"]),
      trigger: $TriggerRefSchema(),
      /** Kubernetes object behind the job, when there is one. */
      object: z.object({ apiVersion: z.string(), kind: z.string(), name: z.string(), namespace: z.string() }).optional(),
    })
    .strict(),
);

const $TrainingStartedSchema = once(() =>
  $JobRefSchema().extend({ spec: TrainingSpecSchema, startedAt: $millis() }).strict(),
);

const $TrainingSucceededSchema = once(() =>
  $JobRefSchema().extend({
    spec: TrainingSpecSchema,
    /** Directory or URI holding the job's outputs: model.onnx or an MLflow model dir, metrics.json, signature.json, baseline.json. */
    artifactUri: z.string().min(1),
    /** MLflow run the job created itself (rank 0), if any; log-model creates one otherwise. */
    runId: z.string().optional(),
    experimentId: z.string().optional(),
    metrics: z.record(z.string(), z.number()).default({}),
    startedAt: $millis(),
    finishedAt: $millis(),
  }).strict(),
);

const $TrainingFailedSchema = once(() =>
  $JobRefSchema().extend({
    spec: TrainingSpecSchema,
    /** Short machine-readable reason: NonZeroExit, Timeout, Cancelled, ImagePullBackOff, BackoffLimitExceeded, SubmissionFailed, ... */
    reason: z.string().min(1),
    message: z.string(),
    exitCode: z.number().int().optional(),
    rank: z.number().int().optional(),
    logTail: z.string().default(""),
    finishedAt: $millis(),
  }).strict(),
);

const $TrainingCancelledSchema = once(() =>
  $JobRefSchema().extend({ finishedAt: $millis(), by: z.string().optional() }).strict(),
);

const $ModelVersionRef = once(() =>
  z
    .object({
      model: z.string().min(1),
      /** MLflow versions are strings. */
      version: z.string().regex(/^[0-9]+$/),
    })
    .strict(),
);

const $ModelLoggedSchema = once(() =>
  $ModelVersionRef().extend({
    runId: z.string(),
    experimentId: z.string(),
    source: z.string(),
    flavor: z.string(),
    metrics: z.record(z.string(), z.number()).default({}),
    jobId: z.string(),
    trigger: $TriggerRefSchema(),
  }).strict(),
);

/** The fair comparison behind a gate decision: both versions scored on the same labelled holdout. */
const $GateEvaluationSchema = once(() =>
  z
    .object({
      metric: z.string(),
      /** How the scores were computed: onnxruntime, or command:<name> for a pluggable evaluation step. */
      method: z.string(),
      /** Which data: the recent labelled feedback window's holdout, or the base dataset's. */
      dataset: z.string(),
      source: z.string(),
      rows: z.number().int().nonnegative(),
      candidate: z.number(),
      champion: z.number().nullable(),
      championVersion: z.string().nullable(),
    })
    .strict(),
);

const $GateResultSchema = once(() =>
  z
    .object({
      metric: z.string(),
      direction: z.enum(["maximize", "minimize"]),
      candidate: z.number().nullable(),
      champion: z.number().nullable(),
      minImprovement: z.number(),
      floors: z.record(z.string(), z.number()).default({}),
      reasons: z.array(z.string()),
      evaluation: $GateEvaluationSchema().optional(),
    })
    .strict(),
);

const $ModelPromotedSchema = once(() =>
  $ModelVersionRef().extend({
    previousVersion: z.string().optional(),
    gate: $GateResultSchema().optional(),
    /** gate | manual | rollback */
    cause: z.enum(["gate", "manual", "rollback"]),
    trigger: $TriggerRefSchema().optional(),
  }).strict(),
);

const $ModelRejectedSchema = once(() =>
  $ModelVersionRef().extend({
    championVersion: z.string().optional(),
    gate: $GateResultSchema(),
    trigger: $TriggerRefSchema().optional(),
  }).strict(),
);

const $PromotionRequestedSchema = once(() =>
  z
    .object({
      model: z.string().min(1),
      action: z.enum(["promote", "rollback"]),
      version: z.string().regex(/^[0-9]+$/).optional(),
      user: z.string().optional(),
    })
    .strict(),
);

const $DeploymentRequestedSchema = once(() =>
  z.discriminatedUnion("action", [
    z.object({ action: z.literal("deploy"), spec: DeploymentSpecSchema, backend: z.enum(["local", "seldon", "kserve"]).optional() }).strict(),
    z.object({ action: z.literal("undeploy"), name: z.string().min(1) }).strict(),
    z.object({ action: z.literal("promote"), name: z.string().min(1) }).strict(),
    z.object({ action: z.literal("rollback"), name: z.string().min(1) }).strict(),
  ]),
);

const $CandidateNumbersSchema = once(() =>
  z
    .object({
      deployment: z.string(),
      version: z.string(),
      requests: z.number().nonnegative(),
      errors: z.number().nonnegative(),
      p50Ms: z.number().nonnegative(),
      p95Ms: z.number().nonnegative(),
      p99Ms: z.number().nonnegative().optional(),
    })
    .strict(),
);

const $CanaryEvidenceSchema = once(() =>
  z
    .object({
      /** "prometheus" (summed over every replica) or "in-process" (the embedded router's tallies). */
      source: z.string(),
      windowSeconds: z.number().nonnegative(),
      candidate: $CandidateNumbersSchema(),
      stable: $CandidateNumbersSchema(),
    })
    .strict(),
);

const $DeploymentStatusSchema = once(() =>
  z
    .object({
      name: z.string(),
      kind: z.enum(["model", "pipeline", "experiment"]),
      backend: z.enum(["local", "seldon", "kserve"]),
      model: z.string().optional(),
      version: z.string().optional(),
      /** Deterministic revision derived from the causing event id. */
      revision: z.string(),
      endpoint: z.string().optional(),
      reason: z.string().optional(),
      message: z.string().optional(),
      warnings: z.array(z.string()).default([]),
      /** On deployment.promoted / rolled_back after a canary: the numbers the decision was taken on. */
      canary: $CanaryEvidenceSchema().optional(),
    })
    .strict(),
);

const $AlertSchema = once(() =>
  z
    .object({
      status: z.enum(["firing", "resolved"]),
      alertname: z.string(),
      labels: z.record(z.string(), z.string()),
      annotations: z.record(z.string(), z.string()).default({}),
      startsAt: z.string(),
      endsAt: z.string().optional(),
      generatorURL: z.string().optional(),
      fingerprint: z.string(),
      groupKey: z.string().optional(),
      receiver: z.string().optional(),
      externalURL: z.string().optional(),
    })
    .strict(),
);

const $RetrainDecisionSchema = once(() =>
  z
    .object({
      model: z.string(),
      decision: z.enum(["started", "skipped"]),
      /** e.g. started | in-flight | cooldown | daily-cap | no-champion | no-lineage | not-drift-alert */
      reason: z.string(),
      message: z.string().optional(),
      alert: $AlertSchema().optional(),
      trainingEventId: z.string().optional(),
    })
    .strict(),
);

const $InferenceRequestedSchema = once(() =>
  z
    .object({ deployment: z.string().min(1), input: z.unknown() })
    .strict(),
);

const $InferenceCompletedSchema = once(() =>
  z
    .object({
      deployment: z.string(),
      model: z.string().optional(),
      version: z.string().optional(),
      route: z.string().optional(),
      predictions: z.unknown(),
    })
    .strict(),
);

/** One true label (a single-row request) or one per row, for a request id infer issued. */
const $FeedbackItemSchema = once(() =>
  z
    .object({
      requestId: z.string().min(1).max(200),
      label: z.union([z.string().min(1).max(500), z.number()]).optional(),
      labels: z.array(z.union([z.string().min(1).max(500), z.number()])).min(1).max(10_000).optional(),
    })
    .strict()
    .refine((f) => (f.label === undefined) !== (f.labels === undefined), { message: "give exactly one of label or labels", path: ["label"] }),
);

/** inference.feedback: true labels for earlier predictions (POST /feedback/{deployment} takes the same items). */
const $InferenceFeedbackSchema = once(() =>
  z
    .object({ deployment: z.string().min(1), feedback: z.array($FeedbackItemSchema()).min(1).max(10_000) })
    .strict(),
);


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
