// ApiException -> platform errors. Only the Status message is kept: the exception's own text carries headers.
import * as z from "zod";
import { ConflictError, ForbiddenError, NotFoundError, UpstreamError, ValidationError } from "../../errors.ts";

const StatusBody = z.object({ reason: z.string().optional(), message: z.string().optional(), code: z.number().optional() }).passthrough();

/**
 * client-node's ApiException, told by its shape: importing the class to test `instanceof` would load the whole client
 * at start-up (see load.ts). Node's own errors carry a string `code`, never a numeric one with a body and headers.
 */
function isApiException(e: unknown): e is Error & { code: number; body: unknown } {
  return e instanceof Error && "code" in e && typeof e.code === "number" && "body" in e && "headers" in e && typeof e.headers === "object";
}

/** Reason and message of a Kubernetes error, or undefined when `e` is not an API error. */
export function apiStatus(e: unknown): { code: number; reason: string; message: string } | undefined {
  if (!isApiException(e)) return undefined;
  const raw: unknown = e.body;
  let parsed: unknown = raw;
  if (typeof raw === "string") {
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = {};
    }
  }
  const body = StatusBody.safeParse(parsed);
  const message = (body.success ? body.data.message : undefined) ?? `HTTP ${e.code}`;
  return { code: e.code, reason: (body.success ? body.data.reason : undefined) ?? "", message: message.slice(0, 1000) };
}

/** Map a Kubernetes client failure to the platform's error taxonomy (never rethrow the raw ApiException). */
export function toPlatformError(e: unknown, what: string): Error {
  const s = apiStatus(e);
  if (!s) return new UpstreamError(`${what}: Kubernetes API unreachable (${e instanceof Error ? e.name : "error"})`, true);
  if (s.code === 404) return new NotFoundError(`${what}: ${s.message}`);
  if (s.code === 409) return new ConflictError(`${what}: ${s.message}`);
  if (s.code === 401 || s.code === 403) return new ForbiddenError(`${what}: Kubernetes refused the call (${s.reason || s.code}): ${s.message}`);
  if (s.code === 400 || s.code === 422) return new ValidationError([{ field: "object", message: s.message }], `${what}: ${s.message}`);
  // 429 and 5xx: the broker retries the event.
  return new UpstreamError(`${what}: Kubernetes API error ${s.code} ${s.reason}`, s.code === 429 || s.code >= 500, { status: s.code >= 500 ? 503 : 502 });
}
