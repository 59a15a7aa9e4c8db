// The Alertmanager webhook trigger as a hono app (mounted at /hooks/alertmanager): bearer token, v4 payload, one event per alert.
import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { PayloadTooLargeError, toHttpError, UnauthorizedError, ValidationError } from "../../platform/errors.ts";
import { errorFields, type Logger } from "../../platform/log.ts";
import type { EventBus } from "../../platform/ports.ts";
import { alertEvents, parseWebhook } from "./payload.ts";

export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export interface AlertmanagerRoutesOptions {
  readonly bus: EventBus;
  /** The bearer token Alertmanager sends (http_config.authorization.credentials_file holds the same value). */
  readonly token: string;
  readonly log: Logger;
  readonly now?: (() => Date) | undefined;
}

/** Constant-time: both sides are hashed first so neither the length nor a prefix leaks through timing. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (!presented || !expected) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return m?.[1];
}

/**
 * POST / : 200 once every alert's event is durably accepted by the bus; 401 without the token; 400 for a malformed
 * payload (field named); 413 if too large; 503 only when the bus failed, so Alertmanager retries just that case.
 */
export function alertmanagerRoutes(opts: AlertmanagerRoutesOptions): Hono {
  const app = new Hono();
  const now = opts.now ?? (() => new Date());
  app.post("/", async (c) => {
    try {
      if (!tokenMatches(bearer(c.req.header("authorization")), opts.token)) {
        throw new UnauthorizedError("a valid bearer token is required");
      }
      const len = Number(c.req.header("content-length") ?? "0");
      if (len > MAX_WEBHOOK_BYTES) throw new PayloadTooLargeError(`payload larger than ${MAX_WEBHOOK_BYTES} bytes`);
      const raw = await c.req.arrayBuffer();
      if (raw.byteLength > MAX_WEBHOOK_BYTES) throw new PayloadTooLargeError(`payload larger than ${MAX_WEBHOOK_BYTES} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(raw).toString("utf8"));
      } catch {
        throw new ValidationError([{ field: "body", message: "is not valid JSON" }]);
      }
      const events = alertEvents(parseWebhook(body), now());
      for (const ev of events) {
        try {
          await opts.bus.emit(ev);
        } catch (e) {
          opts.log.warn("alertmanager trigger: event bus failed; Alertmanager will retry", { id: ev.id, ...errorFields(e) });
          return c.json({ error: "event bus unavailable, retry later", code: "UNAVAILABLE" }, 503);
        }
      }
      opts.log.info("alertmanager trigger: alerts accepted", { count: events.length });
      return c.json({ accepted: events.length, events: events.map((e) => ({ id: e.id, type: e.type })) }, 200);
    } catch (e) {
      const { status, body } = toHttpError(e);
      if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="flywheel"');
      // Never a 5xx here: a payload that failed once fails the same way on retry.
      return c.json(body, status >= 500 ? 400 : (status as 400));
    }
  });
  return app;
}
