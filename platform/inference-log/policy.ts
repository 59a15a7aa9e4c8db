// Per-deployment inference-log policy: sample rate, retention, and the personal-data rule (drop or hash named fields
// before anything is written).
import { createHmac } from "node:crypto";
import * as z from "zod";

const fields = {
  /** Share of requests written to the log (0 = none, 1 = every request). */
  sampleRate: z.number().min(0).max(1),
  /** Days a partition is kept; older ones are deleted by the retention sweep. */
  retentionDays: z.number().int().min(1).max(3650),
  /** Input fields never written. */
  drop: z.array(z.string().min(1)),
  /** Input fields written only as a keyed hash (joins still work, the value is gone). */
  hash: z.array(z.string().min(1)),
};

export const LoggingPolicySchema = z
  .object({ sampleRate: fields.sampleRate.default(1), retentionDays: fields.retentionDays.default(30), drop: fields.drop.default([]), hash: fields.hash.default([]) })
  .strict();
/** One layer of the policies file: only what it sets (no defaults, so a layer never resets the one below). */
export const LoggingOverridesSchema = z
  .object({ sampleRate: fields.sampleRate.optional(), retentionDays: fields.retentionDays.optional(), drop: fields.drop.optional(), hash: fields.hash.optional() })
  .strict();
export type LoggingPolicy = z.output<typeof LoggingPolicySchema>;

export const DEFAULT_LOGGING_POLICY: LoggingPolicy = LoggingPolicySchema.parse({});

/** Apply the personal-data rule to one record's fields: dropped ones vanish, hashed ones become `h:<hex>`. */
export function scrub(row: Readonly<Record<string, unknown>>, policy: LoggingPolicy, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (policy.drop.includes(k)) continue;
    out[k] = policy.hash.includes(k) ? `h:${createHmac("sha256", key).update(JSON.stringify(v)).digest("hex").slice(0, 32)}` : v;
  }
  return out;
}
