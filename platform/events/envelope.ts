// One way to build Flywheel events and one way to parse them; the cloudevents SDK stays at this edge (style.md §6).
import { createHash, randomUUID } from "node:crypto";
import { CloudEvent, HTTP, ValidationError as CeValidationError } from "cloudevents";
import type * as z from "zod";
import { UnsupportedMediaTypeError, ValidationError, type FieldIssue } from "../errors.ts";
import {
  CATALOGUE,
  EVENT_PREFIX,
  dataschemaFor,
  eventType,
  isEventName,
  type EventData,
  type EventDataInput,
  type EventName,
} from "./catalogue.ts";

/** A parsed, validated Flywheel event. `data` has its catalogue type. */
export interface FlywheelEvent<N extends EventName = EventName> {
  readonly name: N;
  readonly id: string;
  readonly source: string;
  readonly type: `${typeof EVENT_PREFIX}${N}`;
  readonly subject: string | undefined;
  readonly time: string;
  readonly traceparent: string | undefined;
  readonly data: EventData<N>;
  /** The SDK event, for forwarding unchanged. */
  readonly cloudEvent: CloudEvent<unknown>;
}

export type AnyCloudEvent = CloudEvent<unknown>;

export interface BuildOptions {
  /** URI-reference of the emitter, e.g. /flywheel/functions/launch-training. */
  source: string;
  /** Explicit id. Handlers derive it from the causing event (deriveId) so that replays are no-ops. */
  id?: string;
  subject?: string;
  /** The event this one answers: its traceparent is carried on unless one is given. */
  causedBy?: { id: string; traceparent?: string | undefined };
  traceparent?: string;
  time?: Date;
}

/** Deterministic id from a causing event id and a purpose, e.g. deriveId(cause.id, "training.started"). */
export function deriveId(causeId: string, purpose: string): string {
  return createHash("sha256").update(`${causeId}\u0000${purpose}`).digest("hex").slice(0, 32);
}

/** Short stable hash for names (Kubernetes objects, job ids). */
export function shortHash(input: string, length = 8): string {
  return createHash("sha256").update(input).digest("hex").slice(0, length);
}

/** Build a CloudEvent whose data is validated against the catalogue. Throws ValidationError on bad data. */
export function buildEvent<N extends EventName>(name: N, data: EventDataInput<N>, opts: BuildOptions): AnyCloudEvent {
  const parsed = validateData(name, data, "data");
  const traceparent = opts.traceparent ?? opts.causedBy?.traceparent;
  const attrs: Record<string, unknown> = {
    specversion: "1.0",
    id: opts.id ?? (opts.causedBy ? deriveId(opts.causedBy.id, name) : randomUUID()),
    source: opts.source,
    type: eventType(name),
    datacontenttype: "application/json",
    dataschema: dataschemaFor(name),
    time: (opts.time ?? new Date()).toISOString(),
    data: parsed,
  };
  if (opts.subject) attrs.subject = opts.subject;
  if (traceparent) attrs.traceparent = traceparent;
  return new CloudEvent<unknown>(attrs, true);
}

/** Validate a CloudEvent as a Flywheel event of a known type. Throws ValidationError naming the fields. */
export function parseEvent(ce: AnyCloudEvent): FlywheelEvent {
  const suffix = ce.type.startsWith(EVENT_PREFIX) ? ce.type.slice(EVENT_PREFIX.length) : "";
  if (!isEventName(suffix)) {
    throw new ValidationError([{ field: "type", message: `unknown event type ${JSON.stringify(ce.type)}` }]);
  }
  return parseEventAs(suffix, ce);
}

/** Validate a CloudEvent as one specific Flywheel type. */
export function parseEventAs<N extends EventName>(name: N, ce: AnyCloudEvent): FlywheelEvent<N> {
  if (ce.type !== eventType(name)) {
    throw new ValidationError([{ field: "type", message: `expected ${eventType(name)}, got ${ce.type}` }]);
  }
  const data = validateData(name, decodeData(ce), "data");
  return {
    name,
    id: ce.id,
    source: ce.source,
    type: eventType(name),
    subject: ce.subject,
    time: ce.time ?? new Date().toISOString(),
    traceparent: typeof ce.traceparent === "string" ? ce.traceparent : undefined,
    data,
    cloudEvent: ce,
  };
}

function validateData<N extends EventName>(name: N, data: unknown, prefix: string): EventData<N> {
  const schema: z.ZodType = CATALOGUE[name].schema;
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new ValidationError(zodIssues(result.error, prefix));
  }
  return result.data as EventData<N>;
}

/** zod issues -> field issues with dotted paths under `prefix`. */
export function zodIssues(error: z.ZodError, prefix = ""): FieldIssue[] {
  return error.issues.map((i) => ({
    field: [prefix, ...i.path.map(String)].filter(Boolean).join(".") || "(root)",
    message: i.message,
  }));
}

function decodeData(ce: AnyCloudEvent): unknown {
  if (ce.data !== undefined) {
    if (typeof ce.data === "string") {
      try {
        return JSON.parse(ce.data);
      } catch {
        throw new ValidationError([{ field: "data", message: "is not valid JSON" }]);
      }
    }
    if (Buffer.isBuffer(ce.data) || ce.data instanceof Uint8Array) {
      try {
        return JSON.parse(Buffer.from(ce.data).toString("utf8"));
      } catch {
        throw new ValidationError([{ field: "data", message: "is not valid JSON" }]);
      }
    }
    return ce.data;
  }
  if (typeof ce.data_base64 === "string") {
    try {
      return JSON.parse(Buffer.from(ce.data_base64, "base64").toString("utf8"));
    } catch {
      throw new ValidationError([{ field: "data_base64", message: "is not base64-encoded JSON" }]);
    }
  }
  throw new ValidationError([{ field: "data", message: "is required" }]);
}

export type HttpHeaders = Record<string, string | string[] | undefined>;

/**
 * Decode an HTTP request into a CloudEvent (binary or structured mode). Throws ValidationError naming the missing or
 * bad attributes, or UnsupportedMediaTypeError for a body that is neither.
 */
export function fromHttp(headers: HttpHeaders, body: string | Buffer): AnyCloudEvent {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) lower[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
  const contentType = lower["content-type"] ?? "";
  const structured = contentType.startsWith("application/cloudevents+json");
  const binary = Boolean(lower["ce-specversion"]);
  if (!structured && !binary) {
    if (contentType.startsWith("application/cloudevents-batch")) {
      throw new UnsupportedMediaTypeError("batched CloudEvents are not accepted; send one event per request");
    }
    throw new ValidationError([
      { field: "ce-specversion", message: "not a CloudEvent: send binary mode (ce-* headers) or structured mode (application/cloudevents+json)" },
    ]);
  }
  if (structured) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString());
    } catch {
      throw new ValidationError([{ field: "body", message: "structured CloudEvent is not valid JSON" }]);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ValidationError([{ field: "body", message: "structured CloudEvent must be a JSON object" }]);
    }
    requireAttributes(parsed as Record<string, unknown>, (a) => a);
  } else {
    requireAttributes(lower, (a) => `ce-${a}`);
  }
  try {
    const ce = HTTP.toEvent({ headers: lower, body: structured ? body.toString() : body.toString() }) as AnyCloudEvent;
    ce.validate();
    return ce;
  } catch (e) {
    if (e instanceof CeValidationError) {
      const errs = (e.errors ?? []).map((x) => ({ field: String((x as { instancePath?: string }).instancePath ?? "event"), message: String((x as { message?: string }).message ?? x) }));
      throw new ValidationError(errs.length ? errs : [{ field: "event", message: e.message }]);
    }
    if (e instanceof ValidationError) throw e;
    throw new ValidationError([{ field: "event", message: e instanceof Error ? e.message : "invalid CloudEvent" }]);
  }
}

function requireAttributes(source: Record<string, unknown>, key: (attr: string) => string): void {
  const issues: FieldIssue[] = [];
  for (const attr of ["specversion", "id", "source", "type"]) {
    const v = source[key(attr)];
    if (typeof v !== "string" || v.length === 0) issues.push({ field: key(attr), message: "is required" });
  }
  const sv = source[key("specversion")];
  if (typeof sv === "string" && sv !== "1.0") issues.push({ field: key("specversion"), message: `unsupported version ${sv}; use 1.0` });
  if (issues.length) throw new ValidationError(issues);
}

/** Encode a CloudEvent for HTTP delivery in binary mode. */
export function toHttpBinary(ce: AnyCloudEvent): { headers: Record<string, string>; body: string } {
  const msg = HTTP.binary(ce);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = String(v);
  const body = typeof msg.body === "string" ? msg.body : msg.body === undefined ? "" : JSON.stringify(msg.body);
  return { headers, body };
}

/** Encode a CloudEvent as a structured JSON object (for storage and the events API). */
export function toStructured(ce: AnyCloudEvent): Record<string, unknown> {
  return ce.toJSON() as Record<string, unknown>;
}

/** Rebuild a CloudEvent from its structured JSON form (e.g. a stored row). */
export function fromStructured(obj: Record<string, unknown>): AnyCloudEvent {
  return new CloudEvent<unknown>(obj, false);
}
