// MLflow search filter and order_by syntax (mlflow/utils/search_utils.py): parse, then evaluate against entities in memory.
import { MlflowApiError, invalid } from "./errors.ts";

export const ENTITY_TYPES = ["metric", "param", "tag", "attribute", "dataset"] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];
export const COMPARATORS = ["=", "!=", "<", ">", "<=", ">=", "LIKE", "ILIKE", "IN", "NOT IN"] as const;
export type Comparator = (typeof COMPARATORS)[number];

export interface Clause {
  readonly type: EntityType;
  readonly key: string;
  readonly comparator: Comparator;
  readonly value: string | number | readonly string[];
}

export interface OrderTerm {
  readonly type: EntityType;
  readonly key: string;
  readonly ascending: boolean;
}

const PREFIXES: Record<string, EntityType> = {
  metric: "metric", metrics: "metric",
  param: "param", params: "param", parameter: "param", parameters: "param",
  tag: "tag", tags: "tag",
  attribute: "attribute", attributes: "attribute", attr: "attribute", run: "attribute",
  dataset: "dataset", datasets: "dataset",
};

type Token =
  | { kind: "ident"; text: string }
  | { kind: "string"; text: string }
  | { kind: "number"; value: number; text: string }
  | { kind: "op"; text: string }
  | { kind: "lparen" | "rparen" | "comma" };

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input.charAt(i);
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === "(") { out.push({ kind: "lparen" }); i++; continue; }
    if (ch === ")") { out.push({ kind: "rparen" }); i++; continue; }
    if (ch === ",") { out.push({ kind: "comma" }); i++; continue; }
    const two = input.slice(i, i + 2);
    if (two === "!=" || two === "<=" || two === ">=" || two === "<>") {
      out.push({ kind: "op", text: two === "<>" ? "!=" : two }); i += 2; continue;
    }
    if (ch === "=" || ch === "<" || ch === ">") { out.push({ kind: "op", text: ch }); i++; continue; }
    if (ch === "'" || ch === '"') {
      const end = input.indexOf(ch, i + 1);
      if (end < 0) throw invalid(`Invalid filter '${input}': unterminated string`);
      out.push({ kind: "string", text: input.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const num = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(input.slice(i));
    if (num && (out.length === 0 || out[out.length - 1]?.kind !== "ident" || /^-/.test(num[0]))) {
      out.push({ kind: "number", value: Number(num[0]), text: num[0] });
      i += num[0].length;
      continue;
    }
    // Identifiers: prefix.key where the key may be `quoted` or "quoted".
    let j = i;
    let text = "";
    while (j < input.length) {
      const c = input.charAt(j);
      if (c === "`" || (c === '"' && text.endsWith("."))) {
        const end = input.indexOf(c, j + 1);
        if (end < 0) throw invalid(`Invalid filter '${input}': unterminated quoted identifier`);
        text += input.slice(j + 1, end);
        j = end + 1;
        continue;
      }
      if (/[\s()=<>!,'"]/.test(c)) break;
      text += c;
      j++;
    }
    if (j === i) throw invalid(`Invalid filter '${input}': unexpected character '${ch}'`);
    out.push({ kind: "ident", text });
    i = j;
  }
  return out;
}

function identifier(text: string, attributes: readonly string[]): { type: EntityType; key: string } {
  const dot = text.indexOf(".");
  const prefix = dot > 0 ? text.slice(0, dot).toLowerCase() : "";
  const type = PREFIXES[prefix];
  if (type && dot > 0) {
    const key = text.slice(dot + 1);
    if (!key) throw invalid(`Invalid identifier '${text}': key is empty`);
    if (type === "attribute" && !attributes.includes(key)) {
      throw invalid(`Invalid attribute key '${key}' specified. Valid keys are '${JSON.stringify(attributes)}'`);
    }
    return { type, key };
  }
  if (!attributes.includes(text)) {
    throw invalid(`Invalid attribute key '${text}' specified. Valid keys are '${JSON.stringify(attributes)}'`);
  }
  return { type: "attribute", key: text };
}

export interface FilterSpec {
  /** Attribute names this entity accepts (bare or attributes.x). */
  readonly attributes: readonly string[];
  /** Attributes compared as numbers. */
  readonly numericAttributes: readonly string[];
  /** Entity types this search accepts besides attributes. */
  readonly types: readonly EntityType[];
}

/** Parse "a = 'x' AND metrics.m > 1" into clauses. An empty filter gives []. */
export function parseFilter(filter: string | undefined, spec: FilterSpec): Clause[] {
  if (!filter || !filter.trim()) return [];
  const tokens = tokenize(filter);
  const clauses: Clause[] = [];
  let i = 0;
  const next = (): Token | undefined => tokens[i++];
  while (i < tokens.length) {
    const id = next();
    if (!id || id.kind !== "ident") throw invalid(`Invalid filter '${filter}': expected an identifier`);
    const { type, key } = identifier(id.text, spec.attributes);
    if (type !== "attribute" && !spec.types.includes(type)) {
      throw invalid(`Invalid entity type '${type}' in filter '${filter}'`);
    }
    let op = next();
    let comparator: string;
    if (op?.kind === "op") comparator = op.text;
    else if (op?.kind === "ident" && op.text.toUpperCase() === "NOT" && tokens[i]?.kind === "ident") {
      op = next();
      comparator = `NOT ${op?.kind === "ident" ? op.text.toUpperCase() : ""}`;
    } else if (op?.kind === "ident") comparator = op.text.toUpperCase();
    else throw invalid(`Invalid filter '${filter}': expected a comparator after '${id.text}'`);
    if (!(COMPARATORS as readonly string[]).includes(comparator)) {
      throw invalid(`Invalid comparator '${comparator}' in filter '${filter}'`);
    }
    const cmp = COMPARATORS.find((c) => c === comparator) ?? "=";
    const numeric = type === "metric" || (type === "attribute" && spec.numericAttributes.includes(key));
    let value: Clause["value"];
    if (cmp === "IN" || cmp === "NOT IN") {
      // MLflow hands this to SQLAlchemy, which rejects it as a BAD_REQUEST (not INVALID_PARAMETER_VALUE).
      if (next()?.kind !== "lparen") throw new MlflowApiError("BAD_REQUEST", `Invalid filter '${filter}': expected '(' after ${cmp}`);
      const list: string[] = [];
      for (;;) {
        const t = next();
        if (t?.kind === "string") list.push(t.text);
        else throw invalid(`Invalid filter '${filter}': IN takes a list of quoted strings`);
        const sep = next();
        if (sep?.kind === "rparen") break;
        if (sep?.kind !== "comma") throw invalid(`Invalid filter '${filter}': expected ',' or ')'`);
      }
      value = list;
    } else {
      const t = next();
      if (numeric) {
        if (t?.kind !== "number") {
          throw invalid(`Expected numeric value type for metric or numeric attribute '${key}'. Found ${t?.kind === "string" ? `'${t.text}'` : "nothing"}`);
        }
        if (cmp === "LIKE" || cmp === "ILIKE") throw invalid(`Invalid comparator '${cmp}' not one of '['=', '!=', '>', '>=', '<', '<=']'`);
        value = t.value;
      } else {
        if (t?.kind !== "string") {
          throw invalid(`Expected a quoted string value for ${type === "attribute" ? "attributes" : `${type}s`} (e.g. 'my-value'). Got value ${t && "text" in t ? t.text : "nothing"}`);
        }
        if (type !== "attribute" && ["<", ">", "<=", ">="].includes(cmp)) {
          throw invalid(`Invalid comparator '${cmp}' not one of '['=', '!=', 'LIKE', 'ILIKE']'`);
        }
        value = t.text;
      }
    }
    clauses.push({ type, key, comparator: cmp, value });
    if (i < tokens.length) {
      const and = next();
      if (and?.kind !== "ident" || and.text.toUpperCase() !== "AND") {
        throw invalid(`Invalid filter '${filter}': clauses must be joined with AND`);
      }
    }
  }
  return clauses;
}

function likeRegex(pattern: string, insensitive: boolean): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%/g, ".*").replace(/_/g, ".");
  return new RegExp(`^${body}$`, insensitive ? "is" : "s");
}

/** Evaluate one comparison; an absent value never matches (SQL join semantics). */
export function compare(actual: string | number | undefined, cmp: Comparator, expected: Clause["value"]): boolean {
  if (actual === undefined) return false;
  if (Array.isArray(expected)) {
    const hit = expected.includes(String(actual));
    return cmp === "IN" ? hit : !hit;
  }
  switch (cmp) {
    case "=": return typeof expected === "number" ? Number(actual) === expected : String(actual) === expected;
    case "!=": return typeof expected === "number" ? Number(actual) !== expected : String(actual) !== expected;
    case "<": return typeof expected === "number" ? Number(actual) < expected : String(actual) < String(expected);
    case ">": return typeof expected === "number" ? Number(actual) > expected : String(actual) > String(expected);
    case "<=": return typeof expected === "number" ? Number(actual) <= expected : String(actual) <= String(expected);
    case ">=": return typeof expected === "number" ? Number(actual) >= expected : String(actual) >= String(expected);
    case "LIKE": return likeRegex(String(expected), false).test(String(actual));
    case "ILIKE": return likeRegex(String(expected), true).test(String(actual));
    default: return false;
  }
}

/** Accessor from (type, key) to an entity's value. */
export type Lookup = (type: EntityType, key: string) => string | number | undefined;

export function matches(clauses: readonly Clause[], lookup: Lookup): boolean {
  return clauses.every((c) => compare(lookup(c.type, c.key), c.comparator, c.value));
}

/** Parse order_by entries like "metrics.`rmse` DESC". */
export function parseOrderBy(orderBy: readonly string[], spec: FilterSpec): OrderTerm[] {
  return orderBy.map((raw) => {
    const m = /^(.*?)(?:\s+(ASC|DESC))?\s*$/i.exec(raw.trim());
    const idText = (m?.[1] ?? "").trim();
    if (!idText) throw invalid(`Invalid order_by clause '${raw}'`);
    const tokens = tokenize(idText);
    const first = tokens[0];
    if (tokens.length !== 1 || first?.kind !== "ident") throw invalid(`Invalid order_by clause '${raw}'`);
    const { type, key } = identifier(first.text, spec.attributes);
    if (type !== "attribute" && !spec.types.includes(type)) throw invalid(`Invalid order_by entity type '${type}' in '${raw}'`);
    return { type, key, ascending: (m?.[2] ?? "ASC").toUpperCase() === "ASC" };
  });
}

/** Cache an entity's lookups: sorting asks for the same (type, key) of each entity many times. */
export function memoize<T extends object>(lookupOf: (item: T) => Lookup): (item: T) => Lookup {
  const perItem = new WeakMap<T, Lookup>();
  return (item) => {
    let l = perItem.get(item);
    if (!l) {
      const values = new Map<string, string | number | undefined>();
      const inner = lookupOf(item);
      l = (type, key) => {
        const k = `${type}\u0000${key}`;
        if (!values.has(k)) values.set(k, inner(type, key));
        return values.get(k);
      };
      perItem.set(item, l);
    }
    return l;
  };
}

/** Sort comparator: absent values last whatever the direction, like MLflow's SQL store. */
export function sortBy<T>(terms: readonly OrderTerm[], lookup: (item: T) => Lookup, tiebreak: (a: T, b: T) => number) {
  return (a: T, b: T): number => {
    for (const t of terms) {
      const va = lookup(a)(t.type, t.key);
      const vb = lookup(b)(t.type, t.key);
      if (va === undefined && vb === undefined) continue;
      if (va === undefined) return 1;
      if (vb === undefined) return -1;
      const d = typeof va === "number" && typeof vb === "number" ? va - vb : String(va) < String(vb) ? -1 : String(va) > String(vb) ? 1 : 0;
      if (d !== 0) return t.ascending ? d : -d;
    }
    return tiebreak(a, b);
  };
}
