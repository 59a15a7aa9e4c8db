// Alertmanager webhook payload v4 (interfaces.md §9) -> one dev.flywheel.alert.firing|resolved CloudEvent per alert.
import * as z from "zod";
import { ValidationError } from "../../platform/errors.ts";
import { buildEvent, deriveId, zodIssues, type AnyCloudEvent } from "../../platform/events/envelope.ts";

export const ALERT_SOURCE = "/flywheel/triggers/alertmanager";

const labels = z.record(z.string(), z.string());

export const WebhookAlertSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: labels.refine((l) => typeof l.alertname === "string" && l.alertname.length > 0, {
    message: "alertname label is required",
    path: ["alertname"],
  }),
  annotations: labels.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1),
});

/** Unknown top-level fields are tolerated: Alertmanager may add some in later versions. */
export const WebhookPayloadSchema = z.object({
  version: z.literal("4"),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string(),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().default(""),
  alerts: z.array(WebhookAlertSchema),
});
export type WebhookPayload = z.output<typeof WebhookPayloadSchema>;
export type WebhookAlert = z.output<typeof WebhookAlertSchema>;

export function parseWebhook(body: unknown): WebhookPayload {
  const parsed = WebhookPayloadSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error));
  return parsed.data;
}

/**
 * Same alert, same episode, same status -> same id: Alertmanager's repeat_interval re-sends and the copies an HA pair
 * sends collapse at every idempotent consumer. A new episode (new startsAt) or the resolution gets a new id.
 */
export function alertEventId(alert: Pick<WebhookAlert, "fingerprint" | "startsAt" | "status">): string {
  return deriveId(`${alert.fingerprint}\u0000${alert.startsAt}`, `alert.${alert.status}`);
}

/** One event per alert, duplicates within the payload dropped. */
export function alertEvents(payload: WebhookPayload, now: Date = new Date()): AnyCloudEvent[] {
  const seen = new Set<string>();
  const out: AnyCloudEvent[] = [];
  for (const a of payload.alerts) {
    const id = alertEventId(a);
    if (seen.has(id)) continue;
    seen.add(id);
    const alertname = a.labels.alertname ?? "";
    const data = {
      status: a.status,
      alertname,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: a.generatorURL,
      fingerprint: a.fingerprint,
      groupKey: payload.groupKey,
      receiver: payload.receiver,
      externalURL: payload.externalURL || undefined,
    };
    const name = a.status === "firing" ? "alert.firing" : "alert.resolved";
    out.push(buildEvent(name, data, { source: ALERT_SOURCE, id, subject: a.labels.model ?? alertname, time: now }));
  }
  return out;
}
