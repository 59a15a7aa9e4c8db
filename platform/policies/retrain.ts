// Retrain guards per model: one in flight, a cooldown after each retrain, a daily cap.
import * as z from "zod";

export const RetrainPolicySchema = z
  .object({
    enabled: z.boolean().default(true),
    maxInFlight: z.number().int().min(1).max(10).default(1),
    cooldownMinutes: z.number().min(0).default(60),
    dailyCap: z.number().int().min(0).default(3),
    /** Alert names that mean "retrain". */
    alertnames: z.array(z.string()).default(["ModelDriftDetected", "ModelAccuracyDropped"]),
    /** Skip a retrain when no labelled feedback arrived since the champion was registered (it would relearn the same data). */
    requireNewData: z.boolean().default(true),
    /** Days of labelled feedback a retrain adds on top of the champion's base dataset, when its spec names no window. */
    windowDays: z.number().int().min(1).max(365).default(7),
  })
  .strict();
export type RetrainPolicy = z.output<typeof RetrainPolicySchema>;
