// The Alertmanager trigger: exports for embedded mounting, and registers FUNCTION_TARGET=alertmanagerTrigger on import.
import { registerAlertmanagerTrigger } from "./knative.ts";

export { alertmanagerRoutes, bearer, tokenMatches, MAX_WEBHOOK_BYTES } from "./routes.ts";
export type { AlertmanagerRoutesOptions } from "./routes.ts";
export { ALERT_SOURCE, alertEventId, alertEvents, parseWebhook, WebhookPayloadSchema } from "./payload.ts";
export type { WebhookAlert, WebhookPayload } from "./payload.ts";
export { alertmanagerOptionsFromEnv, FUNCTION_TARGET, knativeApp, registerAlertmanagerTrigger } from "./knative.ts";

// functions-framework picks the function by FUNCTION_TARGET; deps are built from the environment on the first request.
registerAlertmanagerTrigger();
