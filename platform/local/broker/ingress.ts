// The broker ingress (POST /): binary or structured CloudEvents in, 202 once stored with their deliveries.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError, toHttpError, UpstreamError, ValidationError } from "../../errors.ts";
import { attributeIssues } from "../../eventing/attributes.ts";
import { EVENT_PREFIX, isEventName } from "../../events/catalogue.ts";
import { parseEvent, type AnyCloudEvent } from "../../events/envelope.ts";
import { errorFields, type Logger } from "../../log.ts";
import type { BrokerMetrics } from "./metrics.ts";
import { decodeIngress } from "./parse-binary.ts";
import { mark } from "./trace.ts";

export const MAX_EVENT_BYTES = 1024 * 1024;

export interface Accepted {
  readonly id: string;
  readonly source: string;
  readonly duplicate: boolean;
  /** Deliveries created (0 for a duplicate or when no trigger matched). */
  readonly deliveries: number;
}

export interface IngressTarget {
  accept(ce: AnyCloudEvent): Promise<Accepted>;
  readonly log: Logger;
  readonly metrics: BrokerMetrics;
}

export function ingressRoutes(target: IngressTarget): Hono {
  const app = new Hono();
  const reject = (e: unknown): { status: number; body: ReturnType<typeof toHttpError>["body"] } => {
    const { status, body } = toHttpError(e);
    target.metrics.ingressRejected.inc({ code: String(status) });
    if (status >= 500) target.log.error("broker ingress failed", errorFields(e));
    return { status, body };
  };
  const tooLarge = (c: Context): Response => {
    const { body } = reject(new PayloadTooLargeError(`event larger than ${MAX_EVENT_BYTES} bytes (1 MiB)`));
    // The rest of the body is not read: tell the client not to reuse this connection.
    return c.json(body, 413, { connection: "close" });
  };
  const streamingLimit = bodyLimit({ maxSize: MAX_EVENT_BYTES, onError: tooLarge });
  app.post(
    "/",
    async (c, next) => {
      // A declared length needs no streaming guard: Node's parser holds the body to it. hono's bodyLimit would turn
      // the request into a web Request with a web stream (it reads `.body`), which costs more than the rest of the
      // ingress; without it @hono/node-server reads the body straight from the socket.
      const length = c.req.header("content-length");
      if (length === undefined || c.req.header("transfer-encoding") !== undefined) return streamingLimit(c, next);
      return parseInt(length, 10) > MAX_EVENT_BYTES ? tooLarge(c) : next();
    },
    async (c) => {
      const started = performance.now();
      try {
        const body = Buffer.from(await c.req.arrayBuffer());
        const headers = Object.fromEntries(c.req.raw.headers);
        checkTime(headers, body);
        checkAttributes(headers, body);
        const ce = decodeIngress(headers, body);
        // A known Flywheel type is validated against the catalogue here, at the edge: a bad one is a 400 with its
        // field errors, not a 202 and a silent dead letter. Unknown types pass, as on a Knative broker.
        if (ce.type.startsWith(EVENT_PREFIX) && isEventName(ce.type.slice(EVENT_PREFIX.length))) parseEvent(ce);
        mark("received", ce.id, undefined, started);
        mark("parsed", ce.id);
        const accepted = await target.accept(ce);
        mark("answered", ce.id);
        return c.json(accepted, 202);
      } catch (e) {
        const { status, body } = reject(e);
        const headers: Record<string, string> = e instanceof UpstreamError && e.retryable ? { "retry-after": "1" } : {};
        return c.json(body, { status: toStatus(status), headers });
      }
    },
  );
  app.all("/", (c) => {
    target.metrics.ingressRejected.inc({ code: "405" });
    return c.json({ error: "the broker ingress accepts POST only", code: "METHOD_NOT_ALLOWED" }, 405, { allow: "POST" });
  });
  return app;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
export const isRfc3339 = (t: unknown): boolean => typeof t === "string" && RFC3339.test(t) && !Number.isNaN(Date.parse(t));

/** The SDK silently replaces an unparseable time with "now"; the spec (and Knative's ingress) reject it. */
function checkTime(headers: Record<string, string>, body: Buffer): void {
  const bad = (t: unknown): boolean => t !== undefined && !isRfc3339(t);
  if (bad(headers["ce-time"])) throw new ValidationError([{ field: "ce-time", message: "must be an RFC 3339 timestamp" }]);
  if (!(headers["content-type"] ?? "").startsWith("application/cloudevents+json")) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return; // fromHttp reports the JSON error
  }
  if (typeof parsed === "object" && parsed !== null && "time" in parsed && bad(parsed.time)) {
    throw new ValidationError([{ field: "time", message: "must be an RFC 3339 timestamp" }]);
  }
}

/** Attribute names and values as the spec and the HTTP binding require, read before the SDK parses them. */
function checkAttributes(headers: Record<string, string>, body: Buffer): void {
  const contentType = headers["content-type"] ?? "";
  let attributes: Record<string, unknown> = {};
  if (contentType.startsWith("application/cloudevents+json")) {
    try {
      const parsed: unknown = JSON.parse(body.toString("utf8"));
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) attributes = { ...parsed };
    } catch {
      return; // fromHttp reports the JSON error
    }
  } else {
    for (const [k, v] of Object.entries(headers)) if (k.startsWith("ce-")) attributes[k.slice(3)] = v;
    if (contentType) attributes.datacontenttype = contentType;
  }
  const issues = attributeIssues(attributes);
  if (issues.length) throw new ValidationError(issues);
}

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 500 | 502 | 503;
const STATUSES: readonly ErrorStatus[] = [400, 401, 403, 404, 409, 413, 415, 500, 502, 503];
function toStatus(n: number): ErrorStatus {
  return STATUSES.find((s) => s === n) ?? 500;
}
