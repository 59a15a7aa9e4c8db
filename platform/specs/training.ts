// The one training spec (surface.md "Training"), used by the UI, CLI, API, cron, Kafka and retrain-on-drift.
import * as z from "zod";
import { once } from "../once.ts";

export const TRAINING_KINDS = ["single", "ddp", "spark"] as const;
export type TrainingKind = (typeof TRAINING_KINDS)[number];
export const isTrainingKind = (v: unknown): v is TrainingKind => TRAINING_KINDS.includes(v as TrainingKind);

/** Kubernetes-style names: what the model and experiment names become in object names and labels. */
const dnsName = once(() =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase alphanumeric or '-', starting and ending alphanumeric"),
);

const argv = once(() => z.array(z.string().max(4096)).max(256));

const quantity = once(() =>
  z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, "must be a Kubernetes quantity such as 500m, 2 or 4Gi"),
);

const $Resources = once(() =>
  z
    .object({
      cpu: quantity().optional(),
      memory: quantity().optional(),
      gpu: z.number().int().min(0).max(64).optional(),
    })
    .strict(),
);

const $Source = once(() =>
  z.union([
    z
      .object({
        git: z.string().regex(/^(https:\/\/|git@|ssh:\/\/)/, "must be an https, ssh or git@ URL"),
        ref: z.string().min(1).max(255).default("main"),
        entry: z.string().min(1),
      })
      .strict(),
    z.object({ path: z.string().min(1) }).strict(),
  ]),
);

const envName = once(() => z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a valid environment variable name"));

/**
 * The spec's object schema without its cross-field rules, for `.extend()`, `.partial()` and `.shape`. Built on first
 * use, not at import: the event catalogue imports this module into every function, and most never validate a spec.
 */
export const trainingSpecBase = once(() =>
  z
    .object({
      kind: z.enum(TRAINING_KINDS).default("single"),
      model: dnsName(),
      experiment: z.string().min(1).max(256).optional(),
      image: z.string().min(1).optional(),
      command: argv().min(1).optional(),
      args: argv().default([]),
      source: $Source().optional(),
      params: z.record(z.string().regex(/^[A-Za-z0-9_.\-/ ]+$/, "bad parameter name"), z.string().max(6000)).default({}),
      resources: $Resources().optional(),
      replicas: z.number().int().min(1).max(256).default(1),
      procsPerReplica: z.number().int().min(1).max(64).default(1),
      executors: z.number().int().min(1).max(1000).optional(),
      env: z.record(envName(), z.string()).default({}),
      timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(3600),
      /** Registry lineage: where the training data came from and which code built the model. */
      dataset: z.string().optional(),
      /** Fresh data on top of `dataset`: the last `days` of labelled feedback of `model` (default: this spec's model). */
      dataWindow: z.object({ days: z.number().int().min(1).max(365), model: dnsName().optional() }).strict().optional(),
      codeVersion: z.string().optional(),
    })
    .strict(),
);

/** The spec's top-level field names (overrides and schedules may only name these). */
export const trainingSpecFields = once((): ReadonlySet<string> => new Set(Object.keys(trainingSpecBase().shape)));

export const ResourcesSchema = z.lazy($Resources);
export const SourceSchema = z.lazy($Source);

/** Cross-field rules, shared by the spec and by the training.requested data that embeds it. */
export function refineTrainingSpec(spec: z.output<ReturnType<typeof trainingSpecBase>>, ctx: z.RefinementCtx): void {
    if (!spec.command && !spec.source) {
      ctx.addIssue({ code: "custom", path: ["command"], message: "either command or source is required" });
    }
    if (spec.kind !== "ddp" && (spec.replicas !== 1 || spec.procsPerReplica !== 1)) {
      ctx.addIssue({ code: "custom", path: ["replicas"], message: "replicas and procsPerReplica apply to kind ddp only" });
    }
    if (spec.kind !== "spark" && spec.executors !== undefined) {
      ctx.addIssue({ code: "custom", path: ["executors"], message: "executors applies to kind spark only" });
    }
}

/** z.lazy: built on the first parse. */
export const TrainingSpecSchema = z.lazy(() => trainingSpecBase().superRefine(refineTrainingSpec));

export type TrainingSpec = z.output<typeof TrainingSpecSchema>;
export type TrainingSpecInput = z.input<typeof TrainingSpecSchema>;

/** Why a training was requested; recorded as lineage on the model version. */
export const TRAINING_REASONS = ["manual", "api", "schedule", "drift", "kafka"] as const;
export type TrainingReason = (typeof TRAINING_REASONS)[number];
