// The event catalogue's training schemas: what caused a training, the request (the spec), and the job events.
import * as z from "zod";
import { once } from "../once.ts";
import { TRAINING_REASONS, trainingSpecBase, TrainingSpecSchema, refineTrainingSpec } from "../specs/training.ts";

// Builders, not schemas: each is built on its first call (catalogue.ts says why).
const $millis = once(() => z.number().int().nonnegative());

/** What caused a training: lineage recorded on the model version. */
export const $TriggerRefSchema = once(() =>
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
export const $TrainingRequestedDataSchema = once(() =>
  trainingSpecBase().extend({ trigger: $TriggerRefSchema().optional() })
    .strict()
    .superRefine(refineTrainingSpec),
);

export const $JobRefSchema = once(() =>
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

export const $TrainingStartedSchema = once(() =>
  $JobRefSchema().extend({ spec: TrainingSpecSchema, startedAt: $millis() }).strict(),
);

export const $TrainingSucceededSchema = once(() =>
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

export const $TrainingFailedSchema = once(() =>
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

export const $TrainingCancelledSchema = once(() =>
  $JobRefSchema().extend({ finishedAt: $millis(), by: z.string().optional() }).strict(),
);
