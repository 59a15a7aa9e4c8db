// Trigger mapping: dev.knative.sources.ping (PingSource or the embedded CronScheduler) -> a training intent (reason schedule).
import * as z from "zod";
import { ValidationError } from "../../platform/errors.ts";
import { PING_EVENT_TYPE, zodIssues, type AnyCloudEvent } from "../../platform/events/index.ts";
import { checkOverrides, isRecord, jsonData, type TrainingIntent } from "./intent.ts";

/** What each PingSource carries in `data` (generated from triggers/cron/schedules.yaml). */
export const PingDataSchema = z
  .object({
    model: z.string().min(1),
    /** The schedule's name, for lineage. */
    schedule: z.string().optional(),
    overrides: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type PingData = z.output<typeof PingDataSchema>;

/** The schedule name from `/apis/v1/namespaces/<ns>/pingsources/<name>`, when the data does not say. */
export function pingSourceName(source: string): string | undefined {
  return /\/pingsources\/([^/]+)$/.exec(source)?.[1];
}

export function intentFromPing(ce: AnyCloudEvent): TrainingIntent {
  if (ce.type !== PING_EVENT_TYPE) throw new ValidationError([{ field: "type", message: `expected ${PING_EVENT_TYPE}` }]);
  const raw = jsonData(ce);
  const parsed = PingDataSchema.safeParse(raw);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, "data"));
  const overrides = isRecord(parsed.data.overrides) ? parsed.data.overrides : {};
  checkOverrides(overrides, "data.overrides");
  const schedule = parsed.data.schedule ?? pingSourceName(ce.source);
  return {
    model: parsed.data.model,
    overrides,
    trigger: { reason: "schedule", eventId: ce.id, ...(schedule ? { schedule } : {}) },
  };
}
