// Form helpers: read url-encoded bodies into strings, numbered rows, and zod issues into per-field messages.
import type { Context } from "hono";
import type * as z from "zod";
import type { FieldErrors } from "./components.tsx";

export type FormBody = Readonly<Record<string, string>>;

/** The form body as strings (files and repeated keys are not used by these forms: the last value wins). */
export async function readForm(c: Context): Promise<FormBody> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

/** Rows posted as `${prefix}_${field}_${n}`, in index order, e.g. param_key_0 / param_value_0. Missing fields are "". */
export function readRows(form: FormBody, prefix: string, fields: readonly string[]): Map<string, string>[] {
  const idx = new Set<number>();
  const re = new RegExp(`^${prefix}_(?:${fields.join("|")})_(\\d+)$`);
  for (const k of Object.keys(form)) {
    const m = re.exec(k);
    if (m?.[1]) idx.add(Number(m[1]));
  }
  return [...idx]
    .sort((a, b) => a - b)
    .map((i) => new Map(fields.map((f) => [f, (form[`${prefix}_${f}_${i}`] ?? "").trim()])));
}

/** Add/remove-row submit buttons (`_op=add-<list>` / `_op=remove-<list>-<n>`) for forms without JavaScript. */
export function applyRowOp<T>(op: string | undefined, list: string, rows: T[], empty: () => T): boolean {
  if (op === `add-${list}`) {
    rows.push(empty());
    return true;
  }
  const m = op ? new RegExp(`^remove-${list}-(\\d+)$`).exec(op) : null;
  if (m?.[1]) {
    rows.splice(Number(m[1]), 1);
    return true;
  }
  return false;
}

export class Errors {
  readonly map: Record<string, string[]> = {};
  add(field: string, message: string): void {
    (this.map[field] ??= []).push(message);
  }
  get empty(): boolean {
    return Object.keys(this.map).length === 0;
  }
  get value(): FieldErrors {
    return this.map;
  }
}

/**
 * A schema issue in words for a person: zod's generic messages ("Too small: expected number to be >=1") become
 * "must be at least 1"; messages our schemas wrote themselves pass through.
 */
export function humanIssue(i: z.core.$ZodIssue): string {
  switch (i.code) {
    case "too_small":
      if (i.origin === "string") return Number(i.minimum) <= 1 ? "is required" : `must be at least ${String(i.minimum)} characters`;
      if (i.origin === "array" || i.origin === "set") return Number(i.minimum) <= 1 ? "needs at least one entry" : `needs at least ${String(i.minimum)} entries`;
      if (i.origin === "number" || i.origin === "int") return Number(i.minimum) === 1 && i.inclusive ? "must be a positive whole number" : `must be ${i.inclusive ? "at least" : "more than"} ${String(i.minimum)}`;
      break;
    case "too_big":
      if (i.origin === "string") return `must be at most ${String(i.maximum)} characters`;
      if (i.origin === "array" || i.origin === "set") return `can have at most ${String(i.maximum)} entries`;
      if (i.origin === "number" || i.origin === "int") return `must be ${i.inclusive ? "at most" : "less than"} ${String(i.maximum)}`;
      break;
    case "invalid_type":
      if (i.expected === "int") return "must be a whole number";
      return i.expected === "undefined" ? "is not allowed here" : `must be ${i.expected === "array" || i.expected === "object" ? "an" : "a"} ${i.expected === "record" ? "mapping" : i.expected}`;
    case "invalid_value":
      return `must be one of ${i.values.map(String).join(", ")}`;
    case "unrecognized_keys":
      return `unknown field${i.keys.length > 1 ? "s" : ""} ${i.keys.join(", ")}`;
    case "invalid_format":
      // A regex without a message of ours: say what shape is wanted rather than the pattern.
      if (i.message.startsWith("Invalid string")) return i.format === "regex" ? "has characters that are not allowed here" : `must be a valid ${i.format}`;
      break;
    default:
      break;
  }
  if (i.code === "too_small" || i.code === "too_big") return i.message.replace(/^Too (small|big): expected \w+ to (be|have) /, "must be ");
  return i.message;
}

/** zod issues to field names: the first `depth` path segments, joined with dots; messages for humans. */
export function addZodIssues(errors: Errors, error: z.ZodError, depth = 2, rename: (field: string) => string = (f) => f): void {
  for (const i of error.issues) {
    const field = i.path.slice(0, depth).map(String).join(".") || "(root)";
    errors.add(rename(field), humanIssue(i));
  }
}

/** A whole number from a form field, or an error at that field. Empty = undefined. */
export function intField(form: FormBody, name: string, errors: Errors): number | undefined {
  const raw = (form[name] ?? "").trim();
  if (!raw) return undefined;
  if (!/^-?\d+$/.test(raw)) {
    errors.add(name, "must be a whole number");
    return undefined;
  }
  return Number(raw);
}

/** One argument per line (never split by a shell): blank lines are dropped. */
export function argvLines(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}
