// The broker ingress's CloudEvent decoding: a lean path for the common binary-mode JSON event, the SDK for the rest.
// The SDK's HTTP.toEvent builds three ValidationErrors (stack traces) per parse whether or not anything is wrong, and
// copies the headers three times; on the broker's hot path that was about a tenth of its CPU (bench/broker profile).
import { CloudEvent } from "cloudevents";
import { fromHttp, type AnyCloudEvent } from "../../events/envelope.ts";

/** ce- headers the SDK maps onto context attributes in binary mode (CloudEvents 1.0); every other ce- is an extension. */
const KNOWN = new Set(["type", "specversion", "source", "id", "time", "dataschema", "subject"]);
/** Names the SDK's CloudEvent constructor treats specially: as extensions they would not stay plain extensions. */
const RESERVED = new Set(["id", "time", "type", "source", "specversion", "datacontenttype", "subject", "datacontentencoding", "dataschema", "data_base64", "schemaurl", "data"]);
const EXTENSION = /^[a-z0-9]+$/;

/** Events this module (or the SDK under it) decoded and validated: the CloudEvent is frozen, so that stays true. */
const validated = new WeakSet<AnyCloudEvent>();

/** True when `ce` came from decodeIngress (validated already; an event emitted in-process has not been). */
export function isValidated(ce: AnyCloudEvent): boolean {
  return validated.has(ce);
}

/**
 * The same CloudEvent `fromHttp` (the SDK) makes of these headers (lower-case names) and body, or the same error:
 * anything the lean path is not sure of, including every invalid input, goes through `fromHttp` itself.
 */
export function decodeIngress(headers: Readonly<Record<string, string>>, body: Buffer): AnyCloudEvent {
  const ce = leanDecode(headers, body) ?? fromHttp(headers, body);
  validated.add(ce);
  return ce;
}

/**
 * Binary mode, content-type exactly application/json, a JSON object or array body, spec 1.0, every ce- header
 * non-empty and every extension a plain lower-case name: what HTTP.binary (toHttpBinary) sends for a JSON event.
 * Undefined for anything else. Exported for its equivalence test against the SDK.
 */
export function leanDecode(headers: Readonly<Record<string, string>>, body: Buffer): AnyCloudEvent | undefined {
  if (headers["content-type"] !== "application/json" || headers["ce-specversion"] !== "1.0") return undefined;
  if (!headers["ce-id"] || !headers["ce-source"] || !headers["ce-type"] || headers.datacontenttype !== undefined) return undefined;
  const attrs: Record<string, unknown> = { datacontenttype: "application/json" };
  for (const name in headers) {
    if (!name.startsWith("ce-")) continue;
    const value = headers[name];
    if (!value) return undefined;
    const attr = name.slice(3);
    if (KNOWN.has(attr)) {
      if (attr === "time") {
        const t = Date.parse(value);
        if (Number.isNaN(t)) return undefined;
        // The SDK's DateParser: the time as new Date(Date.parse(text)).toISOString().
        attrs.time = new Date(t).toISOString();
      } else {
        attrs[attr] = value;
      }
    } else if (EXTENSION.test(attr) && !RESERVED.has(attr)) {
      attrs[attr] = value;
    } else {
      return undefined;
    }
  }
  const text = body.toString("utf8");
  const first = text.charCodeAt(0);
  if (first !== 0x7b && first !== 0x5b) return undefined; // { or [: the SDK's JSON parser takes it as it is
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  attrs.data = data;
  const ce = new CloudEvent<unknown>(attrs, false);
  try {
    ce.validate();
  } catch {
    return undefined;
  }
  return ce;
}
