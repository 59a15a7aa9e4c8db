// The event catalogue's model schemas: a logged version, the gate's verdict and evaluation, promotion and rejection.
import * as z from "zod";
import { once } from "../once.ts";
import { $TriggerRefSchema } from "./training-data.ts";

// Builders, not schemas: each is built on its first call (catalogue.ts says why).
const $ModelVersionRef = once(() =>
  z
    .object({
      model: z.string().min(1),
      /** MLflow versions are strings. */
      version: z.string().regex(/^[0-9]+$/),
    })
    .strict(),
);

export const $ModelLoggedSchema = once(() =>
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
export const $GateEvaluationSchema = once(() =>
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

export const $GateResultSchema = once(() =>
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

export const $ModelPromotedSchema = once(() =>
  $ModelVersionRef().extend({
    previousVersion: z.string().optional(),
    gate: $GateResultSchema().optional(),
    /** gate | manual | rollback */
    cause: z.enum(["gate", "manual", "rollback"]),
    trigger: $TriggerRefSchema().optional(),
  }).strict(),
);

export const $ModelRejectedSchema = once(() =>
  $ModelVersionRef().extend({
    championVersion: z.string().optional(),
    gate: $GateResultSchema(),
    trigger: $TriggerRefSchema().optional(),
  }).strict(),
);

export const $PromotionRequestedSchema = once(() =>
  z
    .object({
      model: z.string().min(1),
      action: z.enum(["promote", "rollback"]),
      version: z.string().regex(/^[0-9]+$/).optional(),
      user: z.string().optional(),
    })
    .strict(),
);
