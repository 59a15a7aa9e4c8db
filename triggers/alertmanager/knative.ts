// Knative glue: serves alertmanagerRoutes through functions-framework's http() (FUNCTION_TARGET=alertmanagerTrigger).
import { Hono } from "hono";
import { HttpEventBus } from "../../platform/bus/http.ts";
import { parseConfig, type Env } from "../../platform/config/index.ts";
import { ConfigError } from "../../platform/errors.ts";
import { registerHonoHttp } from "../../platform/fn/http.ts";
import { createLogger } from "../../platform/log.ts";
import { alertmanagerRoutes, type AlertmanagerRoutesOptions } from "./routes.ts";

export const FUNCTION_TARGET = "alertmanagerTrigger";

/** Deps from the environment, read once on the first request (never at import time). */
export function alertmanagerOptionsFromEnv(env: Env): AlertmanagerRoutesOptions {
  const config = parseConfig(env);
  const token = config.alertmanagerToken ?? config.auth.token;
  const problems: string[] = [];
  if (!config.knative.brokerUrl) problems.push("K_SINK or FLYWHEEL_BROKER_URL: required to emit alert events");
  if (!token) problems.push("FLYWHEEL_ALERTMANAGER_TOKEN: required (Alertmanager's bearer token)");
  if (!config.knative.brokerUrl || !token) throw new ConfigError(problems);
  return {
    bus: new HttpEventBus({ url: config.knative.brokerUrl, token: config.auth.token }),
    token,
    log: createLogger(config.logLevel, { function: FUNCTION_TARGET }),
  };
}

/** The same app under / (the Knative Service root) and /hooks/alertmanager (the embedded path), for either URL. */
export function knativeApp(opts: AlertmanagerRoutesOptions): Hono {
  const routes = alertmanagerRoutes(opts);
  return new Hono().route("/hooks/alertmanager", routes).route("/", routes);
}

export function registerAlertmanagerTrigger(options: () => AlertmanagerRoutesOptions = () => alertmanagerOptionsFromEnv(process.env)): void {
  registerHonoHttp(FUNCTION_TARGET, () => knativeApp(options()));
}
