// Route plumbing shared by the resource modules: decode the message, run the handler, render MLflow's error body.
import type { Context, Hono } from "hono";
import { errorFields, type Logger } from "../log.ts";
import { MlflowApiError } from "./errors.ts";
import { clientPathError } from "./paths.ts";
import { readMessage, type Msg } from "./request.ts";

export type Method = "GET" | "POST" | "PATCH" | "DELETE" | "PUT";
export type JsonHandler = (m: Msg, c: Context) => Record<string, unknown> | Promise<Record<string, unknown>>;
export type Handle = (app: Hono, method: Method, path: string, fn: JsonHandler) => void;

/** Render any thrown error as MLflow does: known codes with their status, everything else INTERNAL_ERROR. */
export function errorResponse(c: Context, e: unknown, log: Logger): Response {
  if (e instanceof MlflowApiError) return c.json(e.toBody(), e.status as 400);
  const pathError = clientPathError(e);
  if (pathError) return c.json(pathError.toBody(), 400);
  log.error("registry: internal error", errorFields(e));
  return c.json({ error_code: "INTERNAL_ERROR", message: "Internal server error" }, 500);
}

export function makeHandle(log: Logger): Handle {
  return (app, method, path, fn) => {
    app.on(method, path, async (c) => {
      try {
        const msg = await readMessage(c);
        return c.json(await fn(msg, c));
      } catch (e) {
        return errorResponse(c, e, log);
      }
    });
  };
}

export function endpointNotFound(c: Context): Response {
  return c.json(
    { error_code: "ENDPOINT_NOT_FOUND", message: `No API endpoint found for ${c.req.method} ${new URL(c.req.url).pathname}` },
    404,
  );
}
