// Rollout policy per model: replace the deployment, or run a canary experiment and decide automatically.
import * as z from "zod";

export const RolloutPolicySchema = z
  .object({
    strategy: z.enum(["replace", "canary"]).default("replace"),
    /** canary: share of traffic sent to the new version. */
    canaryPercent: z.number().int().min(1).max(99).default(10),
    /** canary: decide after this many requests to the new version... */
    decideAfterRequests: z.number().int().min(1).default(200),
    /** ...or after this many minutes, whichever comes first. */
    decideAfterMinutes: z.number().min(0.01).default(30),
    /** Roll back when the canary's error rate exceeds the baseline's by more than this (absolute). */
    maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
    /**
     * Roll back when the canary's latency exceeds the baseline's by more than this factor: p99 once both sides have
     * 500 requests, p95 from 100, else p50 (functions/deploy-model/canary.ts, latencyQuantile).
     */
    maxLatencyRatio: z.number().min(1).default(1.5),
  })
  .strict();
export type RolloutPolicy = z.output<typeof RolloutPolicySchema>;
