// Per-model policies from one YAML file: gate (log-model), rollout (deploy-model), retrain guards (retrain-on-drift).
import fs from "node:fs";
import * as z from "zod";
import { ConfigError } from "../errors.ts";
import { LoggingOverridesSchema, LoggingPolicySchema, type LoggingPolicy } from "../inference-log/policy.ts";
import { FeedbackOverridesSchema, FeedbackPolicySchema, type FeedbackPolicy } from "./feedback.ts";
import { GatePolicySchema, type GatePolicy } from "./gate.ts";
import { RetrainPolicySchema, type RetrainPolicy } from "./retrain.ts";
import { overridesOf } from "./overrides.ts";
import { RolloutPolicySchema, type RolloutPolicy } from "./rollout.ts";
import { parseYaml } from "../yaml.ts";

const SectionSchema = z
  .object({
    gate: overridesOf(GatePolicySchema).optional(),
    rollout: overridesOf(RolloutPolicySchema).optional(),
    retrain: overridesOf(RetrainPolicySchema).optional(),
    feedback: FeedbackOverridesSchema.optional(),
    /** Inference logging; the `deployments` section overrides it per deployment. */
    logging: LoggingOverridesSchema.optional(),
  })
  .strict();

export const PoliciesFileSchema = z
  .object({
    defaults: SectionSchema.default({}),
    models: z.record(z.string(), SectionSchema).default({}),
    deployments: z.record(z.string(), z.object({ logging: LoggingOverridesSchema.optional() }).strict()).default({}),
  })
  .strict();

export interface ModelPolicies {
  readonly gate: GatePolicy;
  readonly rollout: RolloutPolicy;
  readonly retrain: RetrainPolicy;
  readonly feedback: FeedbackPolicy;
}

export interface Policies {
  forModel(model: string): ModelPolicies;
  /** Inference logging of a deployment: defaults, then the model of the same name, then the deployment's own. */
  loggingFor(deployment: string): LoggingPolicy;
}

/** Defaults: accuracy gate with a 0.8 floor, replace rollout, 1 retrain in flight, 60 min cooldown, 3 a day. */
export const DEFAULT_POLICIES_YAML = `defaults:
  gate: {metric: accuracy, direction: maximize, minImprovement: 0, floors: {accuracy: 0.8}}
  rollout: {strategy: replace}
  retrain: {maxInFlight: 1, cooldownMinutes: 60, dailyCap: 3}
`;

export function parsePolicies(yamlText: string): Policies {
  const parsed = PoliciesFileSchema.safeParse(parseYaml(yamlText) ?? {});
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `policies.${i.path.join(".")}: ${i.message}`));
  }
  const file = parsed.data;
  return {
    forModel(model) {
      const own = file.models[model] ?? {};
      return {
        gate: GatePolicySchema.parse({ ...file.defaults.gate, ...own.gate }),
        rollout: RolloutPolicySchema.parse({ ...file.defaults.rollout, ...own.rollout }),
        retrain: RetrainPolicySchema.parse({ ...file.defaults.retrain, ...own.retrain }),
        feedback: FeedbackPolicySchema.parse({ ...file.defaults.feedback, ...own.feedback }),
      };
    },
    loggingFor(deployment) {
      return LoggingPolicySchema.parse({ ...file.defaults.logging, ...file.models[deployment]?.logging, ...file.deployments[deployment]?.logging });
    },
  };
}

export function loadPolicies(file: string | undefined): Policies {
  return parsePolicies(file ? fs.readFileSync(file, "utf8") : DEFAULT_POLICIES_YAML);
}
