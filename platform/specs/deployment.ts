// Deployment specs (surface.md "Deployment"): a model, a pipeline (A -> transform -> B) or an A/B experiment.
import * as z from "zod";
import { once } from "../once.ts";

export const DEPLOYMENT_KINDS = ["model", "pipeline", "experiment"] as const;
export type DeploymentKind = (typeof DEPLOYMENT_KINDS)[number];

export const SERVING_BACKENDS = ["local", "seldon", "kserve"] as const;
export type ServingBackendName = (typeof SERVING_BACKENDS)[number];

// Every schema is built on first use, not at import: the event catalogue imports this module into every function, and
// most never validate a deployment spec. The exported names are z.lazy (built on the first parse).
const name = once(() =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase alphanumeric or '-', starting and ending alphanumeric"),
);

const $ModelDeployment = once(() =>
  z
    .object({
      kind: z.literal("model"),
      name: name(),
      /** Registered model name in the registry. */
      model: z.string().min(1),
      version: z.string().regex(/^[0-9]+$/, "must be a registry version number as a string").optional(),
      alias: z.string().min(1).optional(),
      storageUri: z.string().min(1).optional(),
      format: z.string().min(1).optional(),
      replicas: z.number().int().min(0).max(100).optional(),
      minReplicas: z.number().int().min(0).max(100).optional(),
      maxReplicas: z.number().int().min(1).max(100).optional(),
    })
    .strict()
    .refine((d) => !(d.version && d.alias), { path: ["alias"], message: "give version or alias, not both" }),
);

export const JOIN_TYPES = ["inner", "outer", "any"] as const;

const $PipelineStep = once(() =>
  z
    .object({
      name: name(),
      inputs: z.array(z.string().min(1)).default([]),
      tensorMap: z.record(z.string(), z.string()).default({}),
      joinType: z.enum(JOIN_TYPES).default("inner"),
      joinWindowMs: z.number().int().min(0).max(600_000).optional(),
    })
    .strict(),
);

const $PipelineDeployment = once(() =>
  z
    .object({
      kind: z.literal("pipeline"),
      name: name(),
      input: z
        .object({ externalInputs: z.array(z.string()).default([]), tensorMap: z.record(z.string(), z.string()).default({}) })
        .strict()
        .optional(),
      steps: z.array($PipelineStep()).min(1).max(64),
      output: z
        .object({
          steps: z.array(name()).min(1),
          stepsJoin: z.enum(JOIN_TYPES).default("inner"),
          tensorMap: z.record(z.string(), z.string()).default({}),
        })
        .strict(),
    })
    .strict(),
);

const $ExperimentDeployment = once(() =>
  z
    .object({
      kind: z.literal("experiment"),
      name: name(),
      candidates: z.array(z.object({ name: name(), weight: z.number().int().min(0).max(100) }).strict()).min(1).max(32),
      default: name().optional(),
      mirror: z.object({ name: name(), percent: z.number().int().min(0).max(100).default(100) }).strict().optional(),
      resourceType: z.enum(["model", "pipeline"]).default("model"),
    })
    .strict()
    .superRefine((e, ctx) => {
      const total = e.candidates.reduce((sum, c) => sum + c.weight, 0);
      if (total !== 100) {
        const parts = e.candidates.map((c) => `${c.name}=${c.weight}`).join(", ");
        ctx.addIssue({ code: "custom", path: ["candidates"], message: `weights must sum to 100, got ${total} (${parts})` });
      }
      if (e.default && !e.candidates.some((c) => c.name === e.default)) {
        ctx.addIssue({ code: "custom", path: ["default"], message: `default ${e.default} is not a candidate` });
      }
    }),
);

const $DeploymentSpec = once(() => z.discriminatedUnion("kind", [$ModelDeployment(), $PipelineDeployment(), $ExperimentDeployment()]));

export const ModelDeploymentSchema = z.lazy($ModelDeployment);
export const PipelineStepSchema = z.lazy($PipelineStep);
export const PipelineDeploymentSchema = z.lazy($PipelineDeployment);
export const ExperimentDeploymentSchema = z.lazy($ExperimentDeployment);
export const DeploymentSpecSchema = z.lazy($DeploymentSpec);

export type ModelDeployment = z.output<typeof ModelDeploymentSchema>;
export type PipelineDeployment = z.output<typeof PipelineDeploymentSchema>;
export type ExperimentDeployment = z.output<typeof ExperimentDeploymentSchema>;
export type DeploymentSpec = z.output<typeof DeploymentSpecSchema>;
