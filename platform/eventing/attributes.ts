// What the CloudEvents spec and its HTTP binding require of attribute names and values, checked at ingress so an
// event the broker stores is one it can deliver (issue 17: a `constructor` extension or a non-ASCII id got 202, then
// failed every delivery and its dead-letter sink).
import { CloudEvent } from "cloudevents";
import type { FieldIssue } from "../errors.ts";

/** Spec: attribute names MUST be lowercase a-z or 0-9 (the 20-character limit is a SHOULD, and Kafka headers pass it). */
const NAME = /^[a-z0-9]+$/;
const MAX_NAME = 64;
/**
 * Names the spec reserves for the event's data, plus names that shadow members of the objects an SDK stores the
 * event in (`constructor` breaks the SDK's header parser lookup, `validate` replaces the event's own method).
 */
const RESERVED = new Set(["data", "data_base64"]);
const shadows = (name: string): boolean => name in Object.prototype || name in CloudEvent.prototype;
/** Every attribute can travel as a `ce-` header in binary mode, and a header value is visible ASCII, space or tab. */
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;
/** RFC 2046 type/subtype with optional parameters; `datacontenttype` becomes the Content-Type header. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[\t ]*;[\t\x20-\x7e]*)?$/;

/** Issues with the attributes of an event in structured form (data excluded), each naming its attribute. */
export function attributeIssues(event: Readonly<Record<string, unknown>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [name, value] of Object.entries(event)) {
    if (name === "data" || name === "data_base64") continue;
    if (!NAME.test(name) || name.length > MAX_NAME) {
      issues.push({ field: name.slice(0, MAX_NAME), message: `attribute names must be 1-${MAX_NAME} lowercase letters a-z or digits 0-9` });
      continue;
    }
    if (RESERVED.has(name) || shadows(name)) {
      issues.push({ field: name, message: "is a reserved name and cannot be an extension attribute" });
      continue;
    }
    if (typeof value === "string" && !HEADER_SAFE.test(value)) {
      issues.push({ field: name, message: "must be printable ASCII (the HTTP binding carries it in a ce- header); percent-encode other characters" });
    } else if (value !== null && typeof value === "object") {
      issues.push({ field: name, message: "must be a string, an integer or a boolean" });
    }
  }
  const ct = event.datacontenttype;
  if (typeof ct === "string" && HEADER_SAFE.test(ct) && !MEDIA_TYPE.test(ct)) {
    issues.push({ field: "datacontenttype", message: "must be a media type such as application/json (RFC 2046)" });
  }
  return issues;
}
