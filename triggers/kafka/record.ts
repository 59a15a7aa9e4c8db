// A Kafka record -> CloudEvent, as KafkaSource does: CloudEvents (binary or structured binding) pass through unchanged,
// anything else is wrapped as dev.knative.kafka.event (interfaces.md §1).
import { CloudEvent } from "cloudevents";
import { ValidationError } from "../../platform/errors.ts";
import { KAFKA_EVENT_TYPE, type AnyCloudEvent } from "../../platform/events/index.ts";

/** The parts of a consumed record we read (kafkajs' KafkaMessage is structurally compatible). */
export interface KafkaRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly offset: string;
  /** epoch ms, as a string */
  readonly timestamp: string;
  readonly headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>> | undefined;
}

export interface RecordContext {
  readonly topic: string;
  readonly partition: number;
  /** Namespace and name of the KafkaSource (or the embedded bridge standing in for it). */
  readonly namespace: string;
  readonly sourceName: string;
}

export type Converted = { readonly mode: "binary" | "structured" | "wrapped"; readonly event: AnyCloudEvent };

const CE_STRUCTURED = "application/cloudevents+json";

function headerText(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}

/** Lower-cased headers with string values (the last value wins for repeated headers, as Kafka clients read them). */
function headersOf(rec: KafkaRecord): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(rec.headers ?? {})) {
    const text = headerText(Array.isArray(v) ? v.at(-1) : v);
    if (text !== undefined) out.set(k.toLowerCase(), text);
  }
  return out;
}

/** Extension name for a header: `kafkaheader` + the name lower-cased with everything but [a-z0-9] removed. */
export const headerExtension = (name: string): string => `kafkaheader${name.toLowerCase().replace(/[^a-z0-9]/g, "")}`;

/** Throws ValidationError for a record that claims to be a CloudEvent but is not a valid one (a poison record). */
export function recordToCloudEvent(rec: KafkaRecord, ctx: RecordContext): Converted {
  const headers = headersOf(rec);
  const contentType = headers.get("content-type");
  if (headers.has("ce_specversion")) return { mode: "binary", event: fromBinary(rec, headers, contentType) };
  if (contentType?.toLowerCase().startsWith(CE_STRUCTURED)) return { mode: "structured", event: fromStructured(rec) };
  return { mode: "wrapped", event: wrap(rec, headers, ctx) };
}

function fromBinary(rec: KafkaRecord, headers: Map<string, string>, contentType: string | undefined): AnyCloudEvent {
  const attrs: Record<string, unknown> = {};
  for (const [k, v] of headers) if (k.startsWith("ce_")) attrs[k.slice(3)] = v;
  if (contentType) attrs.datacontenttype = contentType;
  if (rec.value && rec.value.length > 0) {
    // Declared JSON must parse; undeclared data is JSON when it parses, raw bytes otherwise.
    if (contentType && isJson(contentType)) attrs.data = parseJson(rec.value, "value");
    else if (!contentType) attrs.data = tryJson(rec.value) ?? Buffer.from(rec.value);
    else attrs.data = Buffer.from(rec.value);
  }
  return validated(attrs, "ce_");
}

function fromStructured(rec: KafkaRecord): AnyCloudEvent {
  if (!rec.value) throw new ValidationError([{ field: "value", message: "structured CloudEvent record has no value" }]);
  const obj = parseJson(rec.value, "value");
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new ValidationError([{ field: "value", message: "structured CloudEvent must be a JSON object" }]);
  }
  return validated({ ...obj }, "");
}

function wrap(rec: KafkaRecord, headers: Map<string, string>, ctx: RecordContext): AnyCloudEvent {
  const attrs: Record<string, unknown> = {
    specversion: "1.0",
    type: KAFKA_EVENT_TYPE,
    source: `/apis/v1/namespaces/${ctx.namespace}/kafkasources/${ctx.sourceName}#${ctx.topic}`,
    subject: `partition:${ctx.partition}#${rec.offset}`,
    id: `partition:${ctx.partition}/offset:${rec.offset}`,
  };
  const ts = Number(rec.timestamp);
  if (Number.isFinite(ts) && ts > 0) attrs.time = new Date(ts).toISOString();
  if (rec.key) {
    const key = rec.key.toString("utf8");
    attrs.key = key;
    attrs.partitionkey = key;
  }
  for (const [name, value] of headers) {
    const ext = headerExtension(name);
    if (ext !== "kafkaheader") attrs[ext] = value;
  }
  const contentType = headers.get("content-type");
  if (contentType) attrs.datacontenttype = contentType;
  if (rec.value) attrs.data = Buffer.from(rec.value);
  return new CloudEvent<unknown>(attrs, false);
}

function validated(attrs: Record<string, unknown>, prefix: string): AnyCloudEvent {
  const missing = ["specversion", "id", "source", "type"].filter((a) => typeof attrs[a] !== "string" || attrs[a] === "");
  if (missing.length) throw new ValidationError(missing.map((a) => ({ field: `${prefix}${a}`, message: "is required" })));
  if (attrs.specversion !== "1.0") throw new ValidationError([{ field: `${prefix}specversion`, message: `unsupported version ${String(attrs.specversion)}` }]);
  try {
    const ce = new CloudEvent<unknown>(attrs, false);
    ce.validate();
    return ce;
  } catch (e) {
    throw new ValidationError([{ field: "event", message: e instanceof Error ? e.message : "invalid CloudEvent" }]);
  }
}

const isJson = (ct: string): boolean => /[/+]json(\s*;|$)/i.test(ct);

function tryJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    return undefined;
  }
}

function parseJson(buf: Buffer, field: string): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    throw new ValidationError([{ field, message: "is not valid JSON" }]);
  }
}
