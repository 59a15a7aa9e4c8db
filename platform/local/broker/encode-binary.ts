// Binary-mode encoding of a stored event for delivery, without building an SDK CloudEvent: the same headers (names,
// values, order) and body as toHttpBinary(fromStructured(obj)) for a JSON event with its id, time, type and source.
import type { OutboundMessage } from "./types.ts";

/** Attributes HTTP.binary maps to their own headers (CloudEvents 1.0), in the order the SDK's CloudEvent sets them. */
const MAPPED = ["id", "time", "type", "source", "specversion", "datacontenttype", "subject", "datacontentencoding", "dataschema", "data_base64", "schemaurl", "data"];
const MAPPED_SET = new Set(MAPPED);

const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/**
 * Undefined when the lean path is not sure (the caller then uses the SDK): a missing or empty id/time/type/source (the
 * SDK would invent an id or a time), another spec version, binary data, data that is not a JSON object or array,
 * the 0.3-only attributes, or an extension value that is not a string, number or boolean.
 */
export function encodeBinaryLean(obj: Readonly<Record<string, unknown>>): OutboundMessage | undefined {
  const { id, time, type, source, specversion, datacontenttype, subject, dataschema, data } = obj;
  if (!nonEmpty(id) || !nonEmpty(time) || !nonEmpty(type) || !nonEmpty(source) || specversion !== "1.0") return undefined;
  if (obj.data_base64 !== undefined || obj.datacontentencoding !== undefined || obj.schemaurl !== undefined) return undefined;
  if (typeof data !== "object" || data === null || ArrayBuffer.isView(data)) return undefined;
  const t = Date.parse(time);
  if (Number.isNaN(t)) return undefined;
  // HTTP.binary's default content type, then (in this order) what headersFor writes; ce-time is re-rendered as ISO.
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8", "ce-id": id, "ce-time": new Date(t).toISOString(), "ce-type": type, "ce-source": source, "ce-specversion": "1.0" };
  if (datacontenttype !== undefined) {
    if (typeof datacontenttype !== "string") return undefined;
    headers["content-type"] = datacontenttype;
  }
  if (subject !== undefined) {
    if (typeof subject !== "string") return undefined;
    headers["ce-subject"] = subject;
  }
  if (dataschema !== undefined) {
    if (typeof dataschema !== "string") return undefined;
    headers["ce-dataschema"] = dataschema;
  }
  for (const k in obj) {
    if (MAPPED_SET.has(k)) continue;
    const v = obj[k];
    if (v === undefined) continue;
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") return undefined;
    headers[`ce-${k}`] = String(v);
  }
  return { headers, body: JSON.stringify(data) };
}
