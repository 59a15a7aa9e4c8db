// The event catalogue's serving-side schemas: deployments and canary evidence, alerts, retrain decisions, inference
// and feedback.
import * as z from "zod";
import { once } from "../once.ts";
import { DeploymentSpecSchema } from "../specs/deployment.ts";

// Builders, not schemas: each is built on its first call (catalogue.ts says why).
export const $DeploymentRequestedSchema = once(() =>
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

export const $CanaryEvidenceSchema = once(() =>
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

export const $DeploymentStatusSchema = once(() =>
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

export const $AlertSchema = once(() =>
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

export const $RetrainDecisionSchema = once(() =>
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

export const $InferenceRequestedSchema = once(() =>
  z
    .object({ deployment: z.string().min(1), input: z.unknown() })
    .strict(),
);

export const $InferenceCompletedSchema = once(() =>
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
export const $FeedbackItemSchema = once(() =>
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
export const $InferenceFeedbackSchema = once(() =>
  z
    .object({ deployment: z.string().min(1), feedback: z.array($FeedbackItemSchema()).min(1).max(10_000) })
    .strict(),
);

