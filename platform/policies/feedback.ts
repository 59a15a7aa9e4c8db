// Feedback policy per model: when live accuracy from feedback may roll the champion back at once.
import * as z from "zod";

export const FeedbackPolicySchema = z
  .object({
    /** Roll back to previous-champion as soon as the champion's live accuracy falls below the old champion's. */
    rollbackOnAccuracyDrop: z.boolean().default(false),
    /** Labels each version needs before its live accuracy counts. */
    minSamples: z.number().int().min(1).default(20),
    /** The champion must trail the old champion by more than this (absolute) to roll back. */
    margin: z.number().min(0).max(1).default(0.02),
  })
  .strict();
export type FeedbackPolicy = z.output<typeof FeedbackPolicySchema>;

/** One layer of the policies file: only what it sets (no defaults, so a layer never resets the one below). */
export const FeedbackOverridesSchema = z
  .object({ rollbackOnAccuracyDrop: z.boolean().optional(), minSamples: z.number().int().min(1).optional(), margin: z.number().min(0).max(1).optional() })
  .strict();
