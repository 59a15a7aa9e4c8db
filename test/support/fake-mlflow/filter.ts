// MLflow's search filter language for the fake: `key op value` clauses joined by AND, as the recorded searches use it
// (steps 10, 50-53, 60-62, 150-175, 236-245, 273-280). Corners the transcript does not show (double-quoted keys, NOT IN,
// `tag.` and `attribute.` prefixes) follow MLflow's search_utils grammar, which the 3.x client relies on.
import { invalid, MlflowFault } from "./params.ts";

export type Value = { kind: "string"; s: string } | { kind: "number"; n: number; text: string } | { kind: "list"; items: string[] };
export interface Clause {
  /** The prefix before the first dot (`metrics`, `tags`, ...), or undefined for a bare key. */
  readonly entity: string | undefined;
  readonly key: string;
  readonly op: string;
  readonly value: Value;
}

const TOKEN = /\s+|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|\([^)]*\)|[<>=!]+|[^\s'"`()<>=!]+/gy;

const unquote = (t: string): string => t.slice(1, -1).replace(/\\(.)/g, "$1");
const quoted = (t: string): boolean => /^(['"`]).*\1$/s.test(t);

function tokens(filter: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < filter.length && (m = TOKEN.exec(filter))) {
    const t = m[0];
    if (/^\s+$/.test(t)) continue;
    // `metrics.` followed by a quoted key is one identifier: metrics.`loss`.
    const prev = out.at(-1);
    if (prev?.endsWith(".") && quoted(t) && !t.startsWith("'")) out[out.length - 1] = prev + t;
    else out.push(t);
  }
  return out;
}

function identifier(t: string): { entity: string | undefined; key: string } {
  const dot = t.indexOf(".");
  const unq = (k: string): string => (quoted(k) ? unquote(k) : k);
  if (dot < 0 || quoted(t)) return { entity: undefined, key: unq(t) };
  return { entity: t.slice(0, dot), key: unq(t.slice(dot + 1)) };
}

function value(t: string): Value | undefined {
  if (t.startsWith("'") || t.startsWith('"')) return { kind: "string", s: unquote(t) };
  if (t.startsWith("(")) {
    const items = [...t.slice(1, -1).matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? m[2] ?? "");
    return { kind: "list", items };
  }
  const n = Number(t);
  return Number.isFinite(n) && t !== "" ? { kind: "number", n, text: t } : undefined;
}

/** Parses a filter into clauses; a clause that does not parse is MLflow's "Invalid clause(s)" 400. */
export function parseFilter(filter: string | undefined, quoteTokens = true): Clause[] {
  if (!filter || !filter.trim()) return [];
  const ts = tokens(filter);
  const clauses: Clause[] = [];
  let i = 0;
  // Runs quote each token in this message (step 167), experiments do not (step 60).
  const bad = (parts: string[]): MlflowFault => invalid(`Invalid clause(s) in filter string: ${parts.map((t) => (quoteTokens || !/^'.*'$/.test(t) ? t : t.slice(1, -1))).join(", ")}`);
  while (i < ts.length) {
    const start = i;
    const id = ts[i++] ?? "";
    if (/^(and|or)$/i.test(id)) throw bad([`'${id}'`]);
    let op = (ts[i++] ?? "").toUpperCase();
    if (op === "NOT" && (ts[i] ?? "").toUpperCase() === "IN") {
      op = "NOT IN";
      i++;
    }
    const raw = ts[i++];
    const v = raw === undefined ? undefined : value(raw);
    if (!op || raw === undefined) throw bad(ts.slice(start, i).map((t) => (quoted(t) ? t : `'${t}'`)));
    if (!v || (op.endsWith("IN") && v.kind !== "list")) {
      // `IN 'x'` reaches SQLAlchemy in MLflow and fails there (step 172).
      if (op.endsWith("IN")) throw new MlflowFault(400, "BAD_REQUEST", `IN expression list, SELECT construct, or bound parameter object expected, got ${raw}.`);
      throw bad([id, op, raw]);
    }
    clauses.push({ ...identifier(id), op, value: v });
    if (i < ts.length) {
      const joiner = ts[i++] ?? "";
      if (joiner.toUpperCase() !== "AND") throw bad([`'${joiner}'`]);
    }
  }
  return clauses;
}

/** SQL LIKE (`%`, `_`), case-sensitive unless ILIKE. */
export function like(pattern: string, s: string, insensitive: boolean): boolean {
  const re = pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%/g, ".*").replace(/_/g, ".");
  return new RegExp(`^${re}$`, insensitive ? "is" : "s").test(s);
}

/** A string comparison: =, !=, LIKE, ILIKE (and IN / NOT IN for lists). */
export function compareString(op: string, v: Value, s: string): boolean {
  if (v.kind === "list") return op === "IN" ? v.items.includes(s) : !v.items.includes(s);
  const want = v.kind === "string" ? v.s : v.text;
  if (op === "=") return s === want;
  if (op === "!=") return s !== want;
  if (op === "LIKE") return like(want, s, false);
  return like(want, s, true);
}

export function compareNumber(op: string, want: number, n: number): boolean {
  switch (op) {
    case "=": return n === want;
    case "!=": return n !== want;
    case ">": return n > want;
    case ">=": return n >= want;
    case "<": return n < want;
    default: return n <= want;
  }
}

export const STRING_OPS = new Set(["=", "!=", "LIKE", "ILIKE"]);
export const NUMBER_OPS = new Set(["=", "!=", ">", ">=", "<", "<="]);
const setRepr = (s: Iterable<string>): string => `{${[...s].sort().map((x) => `'${x}'`).join(", ")}}`;
export const badComparator = (op: string, allowed: Iterable<string>): MlflowFault => invalid(`Invalid comparator '${op}' not one of '${setRepr(allowed)}'`);
export const badAttribute = (key: string, allowed: Iterable<string>): MlflowFault => invalid(`Invalid attribute key '${key}' specified. Valid keys are '${setRepr(allowed)}'`);

/** `order_by` entries: `key [ASC|DESC]`; any other shape is refused (step 175). */
export function parseOrderBy(entries: string[]): { entity: string | undefined; key: string; asc: boolean }[] {
  return entries.map((e) => {
    const m = /^\s*(\S+?(?:`[^`]*`|"[^"]*")?)(?:\s+(ASC|DESC))?\s*$/i.exec(e);
    if (!m) throw invalid(`Invalid ordering key in order_by clause '${e}'.`);
    return { ...identifier(m[1] ?? ""), asc: (m[2] ?? "ASC").toUpperCase() === "ASC" };
  });
}

/** Sort comparator for mixed values: undefined (missing) sorts last in either direction, as MLflow's SQL does. */
export function cmp(a: string | number | undefined, b: string | number | undefined, asc: boolean): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const r = a < b ? -1 : a > b ? 1 : 0;
  return asc ? r : -r;
}
