// Knative DeliverySpec (duck/v1 delivery_types.go): parsing, backoff maths, the retryable-status rule, knativeerror*.
import * as z from "zod";
import { tryParseIsoDuration } from "./duration.ts";

export const BACKOFF_POLICIES = ["linear", "exponential"] as const;
export type BackoffPolicy = (typeof BACKOFF_POLICIES)[number];

export const DELIVERY_FORMATS = ["binary", "json"] as const;
export type DeliveryFormat = (typeof DELIVERY_FORMATS)[number];

/** DNS-1123 label: what Kubernetes object names (Knative Services, Triggers) must be. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabel = z
  .string()
  .max(63, "must be at most 63 characters")
  .regex(DNS_LABEL, "must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit");

/** KReference as Destination.ref uses it. */
export const KReferenceSchema = z.lazy(() =>
  z
    .object({
      apiVersion: z.string().min(1).optional(),
      kind: z.string().min(1, "is required"),
      name: dnsLabel,
      namespace: dnsLabel.optional(),
    })
    .strict(),
);
export type KReference = z.output<typeof KReferenceSchema>;

export const isAbsoluteHttpUrl = (s: string): boolean => {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && u.host !== "";
  } catch {
    return false;
  }
};

/** duckv1.Destination: a ref and/or a uri (a relative uri is appended to the ref's address). */
export const DestinationSchema = z.lazy(() =>
  z
    .object({
      ref: KReferenceSchema.optional(),
      uri: z.string().min(1).optional(),
      CACerts: z.string().optional(),
      audience: z.string().optional(),
    })
    .strict()
    .superRefine((d, ctx) => {
      if (!d.ref && !d.uri) ctx.addIssue({ code: "custom", message: "set ref or uri", path: [] });
      if (!d.ref && d.uri && !isAbsoluteHttpUrl(d.uri)) {
        ctx.addIssue({ code: "custom", message: "must be an absolute http(s) URL when no ref is given", path: ["uri"] });
      }
      if (d.ref && d.uri && isAbsoluteHttpUrl(d.uri)) {
        ctx.addIssue({ code: "custom", message: "must be relative when ref is set (it is resolved against the ref's address)", path: ["uri"] });
      }
    }),
);
export type Destination = z.output<typeof DestinationSchema>;

const isoDuration = (what: string, positive: boolean) =>
  z.string().refine((s) => {
    const ms = tryParseIsoDuration(s);
    return ms !== undefined && (!positive || ms > 0);
  }, `must be an ISO-8601 duration${positive ? " greater than 0" : ""} (e.g. PT0.5S, PT2S, PT1M): ${what}`);

/** The DeliverySpec fields Knative defines (retryAfterMax is an experimental Knative feature, not supported here). */
export const DeliverySpecSchema = z.lazy(() =>
  z
    .object({
      deadLetterSink: DestinationSchema.optional(),
      retry: z.number().int().min(0, "must be >= 0").optional(),
      backoffPolicy: z.enum(BACKOFF_POLICIES).optional(),
      backoffDelay: isoDuration("the delay before retrying", false).optional(),
      timeout: isoDuration("the timeout of each single request", true).optional(),
      format: z.enum(DELIVERY_FORMATS).optional(),
    })
    .strict(),
);
export type DeliverySpec = z.output<typeof DeliverySpecSchema>;

/**
 * Per-request timeout when the spec sets none. Knative's dispatcher has no client timeout; the request is bounded by
 * Knative Serving's default revision timeout (300 s), so the embedded broker uses the same bound.
 */
export const DEFAULT_TIMEOUT_MS = 300_000;
/** Upper bound for one backoff, so a large retry count with exponential backoff cannot overflow a timer. */
export const MAX_BACKOFF_MS = 24 * 3_600_000;

export interface ResolvedDelivery {
  readonly retry: number;
  /** undefined when the spec sets no policy or no delay: Knative then retries without waiting. */
  readonly backoffPolicy: BackoffPolicy | undefined;
  readonly backoffDelayMs: number;
  readonly timeoutMs: number;
  readonly deadLetterSink: Destination | undefined;
  readonly format: DeliveryFormat;
}

/**
 * The delivery a trigger uses: its own spec if it has one, else the broker's (whole object, as Knative's trigger
 * reconciler does: `delivery := t.Spec.Delivery; if nil { delivery = b.Spec.Delivery }`).
 */
export function resolveDelivery(trigger: DeliverySpec | undefined, brokerDefault: DeliverySpec | undefined): ResolvedDelivery {
  const spec = trigger ?? brokerDefault ?? {};
  // Knative computes a backoff only when both policy and delay are set (RetryConfigFromDeliverySpec).
  const hasBackoff = spec.backoffPolicy !== undefined && spec.backoffDelay !== undefined;
  return {
    retry: spec.retry ?? 0,
    backoffPolicy: hasBackoff ? spec.backoffPolicy : undefined,
    backoffDelayMs: hasBackoff && spec.backoffDelay ? (tryParseIsoDuration(spec.backoffDelay) ?? 0) : 0,
    timeoutMs: spec.timeout ? (tryParseIsoDuration(spec.timeout) ?? DEFAULT_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS,
    deadLetterSink: spec.deadLetterSink,
    format: spec.format ?? "binary",
  };
}

/**
 * Wait before retry number `n` (1 = first retry): linear = delay*n, exponential = delay*2^n, as in Knative's
 * RetryConfigFromDeliverySpec and its test table (PT0.5S exponential: 1s, 2s, 4s, 8s, 16s).
 */
export function backoffMs(policy: BackoffPolicy | undefined, delayMs: number, n: number): number {
  if (policy === undefined || n < 1) return 0;
  const ms = policy === "linear" ? delayMs * n : delayMs * 2 ** n;
  return Math.min(ms, MAX_BACKOFF_MS);
}

/** Knative's SelectiveRetry: transport errors (no status), 5xx, 404, 408, 409 and 429 are retried; 3xx and other 4xx never. */
export function isRetryable(status: number | undefined): boolean {
  if (status === undefined || status === -1) return true;
  if (status >= 500) return true;
  return status === 404 || status === 408 || status === 409 || status === 429;
}

/** A delivery succeeded when the subscriber answered 2xx (Knative's isFailure: < 200 or >= 300 fails). */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

export const KNATIVE_ERROR_DEST = "knativeerrordest";
export const KNATIVE_ERROR_CODE = "knativeerrorcode";
export const KNATIVE_ERROR_DATA = "knativeerrordata";
/** attributes.KnativeErrorDataExtensionMaxLength */
export const KNATIVE_ERROR_DATA_MAX = 1024;

/** What a failed dispatch left behind. A transport error (no response) is code 500 with "dispatch error: ...". */
export interface DispatchFailure {
  readonly destination: string;
  readonly status: number | undefined;
  readonly body: string | undefined;
  readonly error?: string | undefined;
}

/** knativeerrorcode is a CloudEvents Integer (a header string in binary mode, a JSON number in structured mode). */
export type KnativeErrorExtensions = {
  readonly [KNATIVE_ERROR_DEST]: string;
  readonly [KNATIVE_ERROR_CODE]: number;
  readonly [KNATIVE_ERROR_DATA]: string;
};

/**
 * The extensions a dead-lettered event gains (kncloudevents dispatchExecutionInfoTransformers): the destination URL,
 * the last response code, and the response body base64-encoded, truncated to 1024 characters.
 */
export function knativeErrorExtensions(f: DispatchFailure): KnativeErrorExtensions {
  const transport = f.status === undefined;
  const code = transport ? 500 : f.status;
  const body = transport ? `dispatch error: ${f.error ?? "no response"}` : (f.body ?? "");
  const data = Buffer.from(body, "utf8").toString("base64").slice(0, KNATIVE_ERROR_DATA_MAX);
  return {
    [KNATIVE_ERROR_DEST]: f.destination,
    [KNATIVE_ERROR_CODE]: code,
    [KNATIVE_ERROR_DATA]: data,
  };
}

/**
 * The URL a destination resolves to, as Knative would address it: a Service ref is
 * http://<name>.<namespace>.svc.cluster.local, and a relative uri is resolved against it. Used for knativeerrordest.
 */
export function destinationUrl(d: Destination, namespace: string): string {
  if (!d.ref) return d.uri ?? "";
  const base = `http://${d.ref.name}.${d.ref.namespace ?? namespace}.svc.cluster.local`;
  if (!d.uri) return base;
  try {
    return new URL(d.uri, `${base}/`).toString();
  } catch {
    return base;
  }
}

/** Characters of a decoded reason shown in logs, the API and the UI. */
const REASON_MAX = 300;

/**
 * knativeerrordata decoded for people: the subscriber's `{"error": ...}` message when it sent one (Flywheel functions
 * do), else the body's text; control characters dropped and the length capped, so a log line stays one safe line.
 */
export function decodeErrorData(base64: string | undefined): string {
  return base64 ? readableReason(Buffer.from(base64, "base64").toString("utf8")) : "";
}

/** A response body (or transport error) as one short line: its `error` field when it is Flywheel's JSON error. */
export function readableReason(text: string): string {
  let reason = text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "error" in parsed && typeof parsed.error === "string") reason = parsed.error;
  } catch {
    // not JSON (or cut short by the 1024-character cap): the text itself
  }
  return [...reason].filter((ch) => ch >= " " && ch !== "\x7f").join("").slice(0, REASON_MAX);
}
