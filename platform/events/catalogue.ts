// The event catalogue: every dev.flywheel.* type of the loop, with a zod schema for `data` and a versioned dataschema.
import * as z from "zod";
import { DeploymentSpecSchema } from "../specs/deployment.ts";
import { TRAINING_REASONS, TrainingSpecBase, TrainingSpecSchema, refineTrainingSpec } from "../specs/training.ts";

export const EVENT_PREFIX = "dev.flywheel.";
export const DATASCHEMA_BASE = "https://flywheel.dev/schemas/events";

const millis = z.number().int().nonnegative();

/** What caused a training: lineage recorded on the model version. */
export const TriggerRefSchema = z
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
  .strict();
export type TriggerRef = z.output<typeof TriggerRefSchema>;

/** training.requested: `data` is the training spec itself (surface.md), plus an optional trigger reference. */
export const TrainingRequestedDataSchema = TrainingSpecBase.extend({ trigger: TriggerRefSchema.optional() })
  .strict()
  .superRefine(refineTrainingSpec);

export const JobRefSchema = z
  .object({
    jobId: z.string().min(1),
    model: z.string().min(1),
    kind: z.enum(["single", "ddp", "spark"]),
    backend: z.enum(["local", "kubernetes"]),
    trigger: TriggerRefSchema,
    /** Kubernetes object behind the job, when there is one. */
    object: z.object({ apiVersion: z.string(), kind: z.string(), name: z.string(), namespace: z.string() }).optional(),
  })
  .strict();

export const TrainingStartedSchema = JobRefSchema.extend({ spec: TrainingSpecSchema, startedAt: millis }).strict();

export const TrainingSucceededSchema = JobRefSchema.extend({
  spec: TrainingSpecSchema,
  /** Directory or URI holding the job's outputs: model.onnx or an MLflow model dir, metrics.json, signature.json, baseline.json. */
  artifactUri: z.string().min(1),
  /** MLflow run the job created itself (rank 0), if any; log-model creates one otherwise. */
  runId: z.string().optional(),
  experimentId: z.string().optional(),
  metrics: z.record(z.string(), z.number()).default({}),
  startedAt: millis,
  finishedAt: millis,
}).strict();

export const TrainingFailedSchema = JobRefSchema.extend({
  spec: TrainingSpecSchema,
  /** Short machine-readable reason: NonZeroExit, Timeout, Cancelled, ImagePullBackOff, BackoffLimitExceeded, SubmissionFailed, ... */
  reason: z.string().min(1),
  message: z.string(),
  exitCode: z.number().int().optional(),
  rank: z.number().int().optional(),
  logTail: z.string().default(""),
  finishedAt: millis,
}).strict();

export const TrainingCancelledSchema = JobRefSchema.extend({ finishedAt: millis, by: z.string().optional() }).strict();

const ModelVersionRef = z
  .object({
    model: z.string().min(1),
    /** MLflow versions are strings. */
    version: z.string().regex(/^[0-9]+$/),
  })
  .strict();

export const ModelLoggedSchema = ModelVersionRef.extend({
  runId: z.string(),
  experimentId: z.string(),
  source: z.string(),
  flavor: z.string(),
  metrics: z.record(z.string(), z.number()).default({}),
  jobId: z.string(),
  trigger: TriggerRefSchema,
}).strict();

/** The fair comparison behind a gate decision: both versions scored on the same labelled holdout. */
export const GateEvaluationSchema = z
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
  .strict();
export type GateEvaluation = z.output<typeof GateEvaluationSchema>;

export const GateResultSchema = z
  .object({
    metric: z.string(),
    direction: z.enum(["maximize", "minimize"]),
    candidate: z.number().nullable(),
    champion: z.number().nullable(),
    minImprovement: z.number(),
    floors: z.record(z.string(), z.number()).default({}),
    reasons: z.array(z.string()),
    evaluation: GateEvaluationSchema.optional(),
  })
  .strict();

export const ModelPromotedSchema = ModelVersionRef.extend({
  previousVersion: z.string().optional(),
  gate: GateResultSchema.optional(),
  /** gate | manual | rollback */
  cause: z.enum(["gate", "manual", "rollback"]),
  trigger: TriggerRefSchema.optional(),
}).strict();

export const ModelRejectedSchema = ModelVersionRef.extend({
  championVersion: z.string().optional(),
  gate: GateResultSchema,
  trigger: TriggerRefSchema.optional(),
}).strict();

export const PromotionRequestedSchema = z
  .object({
    model: z.string().min(1),
    action: z.enum(["promote", "rollback"]),
    version: z.string().regex(/^[0-9]+$/).optional(),
    user: z.string().optional(),
  })
  .strict();

export const DeploymentRequestedSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("deploy"), spec: DeploymentSpecSchema, backend: z.enum(["local", "seldon", "kserve"]).optional() }).strict(),
  z.object({ action: z.literal("undeploy"), name: z.string().min(1) }).strict(),
  z.object({ action: z.literal("promote"), name: z.string().min(1) }).strict(),
  z.object({ action: z.literal("rollback"), name: z.string().min(1) }).strict(),
]);

const CandidateNumbersSchema = z
  .object({
    deployment: z.string(),
    version: z.string(),
    requests: z.number().nonnegative(),
    errors: z.number().nonnegative(),
    p50Ms: z.number().nonnegative(),
    p95Ms: z.number().nonnegative(),
    p99Ms: z.number().nonnegative().optional(),
  })
  .strict();

export const CanaryEvidenceSchema = z
  .object({
    /** "prometheus" (summed over every replica) or "in-process" (the embedded router's tallies). */
    source: z.string(),
    windowSeconds: z.number().nonnegative(),
    candidate: CandidateNumbersSchema,
    stable: CandidateNumbersSchema,
  })
  .strict();

export const DeploymentStatusSchema = z
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
    canary: CanaryEvidenceSchema.optional(),
  })
  .strict();

export const AlertSchema = z
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
  .strict();

export const RetrainDecisionSchema = z
  .object({
    model: z.string(),
    decision: z.enum(["started", "skipped"]),
    /** e.g. started | in-flight | cooldown | daily-cap | no-champion | no-lineage | not-drift-alert */
    reason: z.string(),
    message: z.string().optional(),
    alert: AlertSchema.optional(),
    trainingEventId: z.string().optional(),
  })
  .strict();

export const InferenceRequestedSchema = z
  .object({ deployment: z.string().min(1), input: z.unknown() })
  .strict();

export const InferenceCompletedSchema = z
  .object({
    deployment: z.string(),
    model: z.string().optional(),
    version: z.string().optional(),
    route: z.string().optional(),
    predictions: z.unknown(),
  })
  .strict();

/** One true label (a single-row request) or one per row, for a request id infer issued. */
export const FeedbackItemSchema = z
  .object({
    requestId: z.string().min(1).max(200),
    label: z.union([z.string().min(1).max(500), z.number()]).optional(),
    labels: z.array(z.union([z.string().min(1).max(500), z.number()])).min(1).max(10_000).optional(),
  })
  .strict()
  .refine((f) => (f.label === undefined) !== (f.labels === undefined), { message: "give exactly one of label or labels", path: ["label"] });

/** inference.feedback: true labels for earlier predictions (POST /feedback/{deployment} takes the same items). */
export const InferenceFeedbackSchema = z
  .object({ deployment: z.string().min(1), feedback: z.array(FeedbackItemSchema).min(1).max(10_000) })
  .strict();

/** The catalogue. Key = type suffix after "dev.flywheel.". */
export const CATALOGUE = {
  "training.requested": { schema: TrainingRequestedDataSchema, version: "1.0" },
  "training.started": { schema: TrainingStartedSchema, version: "1.0" },
  "training.succeeded": { schema: TrainingSucceededSchema, version: "1.0" },
  "training.failed": { schema: TrainingFailedSchema, version: "1.0" },
  "training.cancelled": { schema: TrainingCancelledSchema, version: "1.0" },
  "model.logged": { schema: ModelLoggedSchema, version: "1.0" },
  "model.promoted": { schema: ModelPromotedSchema, version: "1.0" },
  "model.rejected": { schema: ModelRejectedSchema, version: "1.0" },
  "model.promotion.requested": { schema: PromotionRequestedSchema, version: "1.0" },
  "deployment.requested": { schema: DeploymentRequestedSchema, version: "1.0" },
  "deployment.ready": { schema: DeploymentStatusSchema, version: "1.0" },
  "deployment.failed": { schema: DeploymentStatusSchema, version: "1.0" },
  "deployment.promoted": { schema: DeploymentStatusSchema, version: "1.0" },
  "deployment.rolled_back": { schema: DeploymentStatusSchema, version: "1.0" },
  "deployment.removed": { schema: DeploymentStatusSchema, version: "1.0" },
  "alert.firing": { schema: AlertSchema, version: "1.0" },
  "alert.resolved": { schema: AlertSchema, version: "1.0" },
  "retrain.decided": { schema: RetrainDecisionSchema, version: "1.0" },
  "inference.requested": { schema: InferenceRequestedSchema, version: "1.0" },
  "inference.completed": { schema: InferenceCompletedSchema, version: "1.0" },
  "inference.feedback": { schema: InferenceFeedbackSchema, version: "1.0" },
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
