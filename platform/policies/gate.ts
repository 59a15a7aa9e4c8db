// Evaluation gate policy per model: which metric decides, in which direction, by how much, and absolute floors.
import * as z from "zod";

export const GatePolicySchema = z
  .object({
    metric: z.string().min(1).default("accuracy"),
    direction: z.enum(["maximize", "minimize"]).default("maximize"),
    /** Candidate must beat the champion by at least this much (absolute, in the metric's unit). */
    minImprovement: z.number().min(0).default(0),
    /** A candidate that only equals the champion is promoted only when this is true. */
    allowTie: z.boolean().default(false),
    /** flavor -> argv of a pluggable evaluation step (given the model dir and the holdout CSV); ONNX is built in. */
    evaluators: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
    /** metric -> bound: a lower bound for maximized metrics, an upper bound for minimized ones. */
    floors: z.record(z.string(), z.number()).default({}),
    /** Direction of each floor metric other than `metric` (default: `direction`), e.g. {loss: minimize}. */
    floorDirections: z.record(z.string(), z.enum(["maximize", "minimize"])).default({}),
  })
  .strict();
export type GatePolicy = z.output<typeof GatePolicySchema>;
