// Retrain guards per model: one in flight, a cooldown after each retrain, a daily cap.
import { z } from "zod";

export const RetrainPolicySchema = z
  .object({
    enabled: z.boolean().default(true),
    maxInFlight: z.number().int().min(1).max(10).default(1),
    cooldownMinutes: z.number().min(0).default(60),
    dailyCap: z.number().int().min(0).default(3),
    /** Alert names that mean "retrain". */
    alertnames: z.array(z.string()).default(["ModelDriftDetected"]),
  })
  .strict();
export type RetrainPolicy = z.output<typeof RetrainPolicySchema>;
