// Trigger filters: `filter.attributes` (exact, "" = present) and `filters` (CloudEvents Subscriptions API dialects).
import type { FieldIssue } from "../errors.ts";
import type { AnyCloudEvent } from "../events/envelope.ts";

export const FILTER_DIALECTS = ["exact", "prefix", "suffix", "all", "any", "not", "cesql"] as const;
export type FilterDialect = (typeof FILTER_DIALECTS)[number];
export const isFilterDialect = (v: string): v is FilterDialect => FILTER_DIALECTS.some((d) => d === v);

/** One SubscriptionsAPIFilter: exactly one dialect is set. */
export interface SubscriptionsApiFilter {
  readonly exact?: Readonly<Record<string, string>>;
  readonly prefix?: Readonly<Record<string, string>>;
  readonly suffix?: Readonly<Record<string, string>>;
  readonly all?: readonly SubscriptionsApiFilter[];
  readonly any?: readonly SubscriptionsApiFilter[];
  readonly not?: SubscriptionsApiFilter;
  readonly cesql?: string;
}

/** The legacy filter: exact match per attribute; "" means "present with a non-empty value". */
export interface AttributesFilter {
  readonly attributes?: Readonly<Record<string, string>>;
}

/** Knative's rule for attribute names (trigger_validation.go): a lowercase letter, then lowercase letters or digits. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

/** Context attributes and extensions of an event, as strings (what filters compare against; never `data`). */
export function attributesOf(ce: AnyCloudEvent): Record<string, string> {
  return attributesOfJson(ce.toJSON());
}

/** attributesOf from the event's structured form (its toJSON(), or eventToJson's), when the caller has it already. */
export function attributesOfJson(structured: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(structured)) {
    if (k === "data" || k === "data_base64" || v === undefined || v === null) continue;
    out[k] = v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  return out;
}

export function matchesAttributes(filter: AttributesFilter | undefined, attrs: Readonly<Record<string, string>>): boolean {
  for (const [k, want] of Object.entries(filter?.attributes ?? {})) {
    const got = attrs[k];
    if (got === undefined) return false;
    if (want === "" ? got === "" : got !== want) return false;
  }
  return true;
}

export function matchesFilter(f: SubscriptionsApiFilter, attrs: Readonly<Record<string, string>>): boolean {
  if (f.exact) return everyPair(f.exact, attrs, (got, want) => got === want);
  if (f.prefix) return everyPair(f.prefix, attrs, (got, want) => got.startsWith(want));
  if (f.suffix) return everyPair(f.suffix, attrs, (got, want) => got.endsWith(want));
  if (f.all) return f.all.every((x) => matchesFilter(x, attrs));
  if (f.any) return f.any.some((x) => matchesFilter(x, attrs));
  if (f.not) return !matchesFilter(f.not, attrs);
  // cesql is rejected when triggers are loaded; an element with no dialect matches, as Knative's NoFilter does.
  return true;
}

function everyPair(
  pairs: Readonly<Record<string, string>>,
  attrs: Readonly<Record<string, string>>,
  test: (got: string, want: string) => boolean,
): boolean {
  for (const [k, want] of Object.entries(pairs)) {
    const got = attrs[k];
    if (got === undefined || !test(got, want)) return false;
  }
  return true;
}

/** A trigger's match: `filters` (ANDed) when non-empty, else `filter.attributes`; neither = every event. */
export function triggerMatches(
  t: { readonly filter?: AttributesFilter | undefined; readonly filters?: readonly SubscriptionsApiFilter[] | undefined },
  attrs: Readonly<Record<string, string>>,
): boolean {
  if (t.filters && t.filters.length > 0) return t.filters.every((f) => matchesFilter(f, attrs));
  return matchesAttributes(t.filter, attrs);
}

// ---------------------------------------------------------------------------------------------------------------------
// Validation (raw YAML/JSON -> typed filters, with issues naming the field)

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validate `filter: {attributes}`. */
export function parseAttributesFilter(raw: unknown, path: string, issues: FieldIssue[]): AttributesFilter | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    issues.push({ field: path, message: "must be an object with `attributes`" });
    return undefined;
  }
  for (const k of Object.keys(raw)) if (k !== "attributes") issues.push({ field: `${path}.${k}`, message: "unknown field" });
  if (raw.attributes === undefined) return {};
  const attributes = parseStringMap(raw.attributes, `${path}.attributes`, issues, { allowEmpty: true, single: false });
  return attributes ? { attributes } : undefined;
}

/** Validate a `filters` list. `cesqlMessage` set = cesql is rejected with that message. */
export function parseFilters(
  raw: unknown,
  path: string,
  issues: FieldIssue[],
  opts: { cesqlMessage?: string } = {},
): SubscriptionsApiFilter[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    issues.push({ field: path, message: "must be a list of filter expressions" });
    return undefined;
  }
  return raw.map((f, i) => parseFilter(f, `${path}[${i}]`, issues, opts));
}

function parseFilter(raw: unknown, path: string, issues: FieldIssue[], opts: { cesqlMessage?: string }): SubscriptionsApiFilter {
  if (!isRecord(raw)) {
    issues.push({ field: path, message: `must be an object with one of: ${FILTER_DIALECTS.join(", ")}` });
    return {};
  }
  const keys = Object.keys(raw);
  for (const k of keys) {
    if (!isFilterDialect(k)) {
      issues.push({ field: `${path}.${k}`, message: `unknown filter dialect; use one of ${FILTER_DIALECTS.join(", ")}` });
    }
  }
  const dialects = keys.filter(isFilterDialect);
  if (dialects.length !== 1) {
    issues.push({
      field: path,
      message:
        dialects.length === 0
          ? `sets no filter dialect; set exactly one of ${FILTER_DIALECTS.join(", ")}`
          : `multiple dialects found (${dialects.join(", ")}); each filter can have only one dialect set`,
    });
    return {};
  }
  const d = dialects[0];
  const sub = `${path}.${d}`;
  switch (d) {
    case "exact":
    case "prefix":
    case "suffix": {
      const map = parseStringMap(raw[d], sub, issues, { allowEmpty: false, single: true });
      return map ? { [d]: map } : {};
    }
    case "all":
    case "any": {
      const list = raw[d];
      if (!Array.isArray(list) || list.length === 0) {
        issues.push({ field: sub, message: "must contain at least one nested filter" });
        return {};
      }
      return { [d]: list.map((x, i) => parseFilter(x, `${sub}[${i}]`, issues, opts)) };
    }
    case "not":
      return { not: parseFilter(raw.not, sub, issues, opts) };
    case "cesql":
      if (opts.cesqlMessage) issues.push({ field: sub, message: opts.cesqlMessage });
      else if (typeof raw.cesql !== "string" || raw.cesql.trim() === "") issues.push({ field: sub, message: "must be a non-empty CESQL expression" });
      return typeof raw.cesql === "string" ? { cesql: raw.cesql } : {};
    default:
      return {};
  }
}

function parseStringMap(
  raw: unknown,
  path: string,
  issues: FieldIssue[],
  opts: { allowEmpty: boolean; single: boolean },
): Record<string, string> | undefined {
  if (!isRecord(raw)) {
    issues.push({ field: path, message: "must be a map of attribute name to string" });
    return undefined;
  }
  const entries = Object.entries(raw);
  if (opts.single && entries.length !== 1) {
    issues.push({ field: path, message: `must have exactly one attribute (has ${entries.length})` });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!ATTRIBUTE_NAME.test(k)) {
      issues.push({ field: `${path}.${k}`, message: "invalid attribute name: must start with a letter and contain only lowercase letters and digits" });
    }
    if (typeof v !== "string") {
      issues.push({ field: `${path}.${k}`, message: "must be a string" });
      continue;
    }
    if (!opts.allowEmpty && v === "") issues.push({ field: `${path}.${k}`, message: "must not be empty" });
    out[k] = v;
  }
  return out;
}
