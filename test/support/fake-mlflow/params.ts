// Request parameters and error answers of the fake MLflow, as the recorded transcript shows MLflow 2.17.2 parsing them.
import { randomBytes } from "node:crypto";

/** An MLflow error answer: `{error_code, message}` with its HTTP status. */
export class MlflowFault extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const API_DOCS = "See the API docs for more information about request parameters.";
export const invalid = (message: string): MlflowFault => new MlflowFault(400, "INVALID_PARAMETER_VALUE", message);
export const notFound = (message: string): MlflowFault => new MlflowFault(404, "RESOURCE_DOES_NOT_EXIST", message);
export const exists = (message: string): MlflowFault => new MlflowFault(400, "RESOURCE_ALREADY_EXISTS", message);
/** MLflow's raw database errors come out as 400 BAD_REQUEST (steps 33, 75, 172). */
export const badRequest = (message: string): MlflowFault => new MlflowFault(400, "BAD_REQUEST", message);
/** A SQLite constraint failure as MLflow lets it through (steps 16, 33, 75, 219, 228): the statement and its values. */
export function sqlError(constraint: string, sql: string, values: (string | number | null)[], autoflush = false): string {
  const shown = values.map((v) => (v === null ? "None" : typeof v === "number" ? String(v) : `'${v}'`)).join(", ");
  return `${autoflush ? "(raised as a result of Query-invoked autoflush; consider using a session.no_autoflush block if this flush is occurring prematurely)\n" : ""}` +
    `(sqlite3.IntegrityError) ${constraint}\n[SQL: ${sql}]\n[parameters: (${shown})]\n(Background on this error at: https://sqlalche.me/e/14/gkpj)`;
}
/** Values echoed in length errors are cut at 250 characters (steps 120, 122, 313, 315). */
export const shown = (v: string): string => v.slice(0, 250);
export const missing = (name: string): MlflowFault => invalid(`Missing value for required parameter '${name}'. ${API_DOCS}`);

const pyType = (v: unknown): string => (typeof v === "string" ? "str" : typeof v === "number" ? (Number.isInteger(v) ? "int" : "float") : typeof v === "boolean" ? "bool" : Array.isArray(v) ? "list" : "dict");
const pyRepr = (v: unknown): string => (typeof v === "string" ? `"${v}"` : JSON.stringify(v));
/** The proto-parsing type error (steps 63, 96, 176, 242, 312). */
export const badType = (name: string, v: unknown): MlflowFault =>
  invalid(`Invalid value ${pyRepr(v)} for parameter '${name}' supplied:  Hint: Value was of type '${pyType(v)}'. ${API_DOCS}`);

/**
 * One request's parameters: the query string for GET/DELETE-without-body, else the JSON body (step 11: a GET without a
 * query string reads a JSON body; steps 8/9: unparseable or empty JSON is `{}`).
 */
export class Params {
  constructor(private readonly fields: Record<string, unknown>, readonly fromQuery: boolean) {}

  /** MLflow reads a GET's query string, and every other method's JSON body. */
  static of(method: string, query: URLSearchParams, body: unknown): Params {
    const isObject = !!body && typeof body === "object" && !Array.isArray(body);
    if (method !== "GET" || [...query.keys()].length === 0) return new Params(isObject ? Object.fromEntries(Object.entries(body)) : {}, false);
    const fields: Record<string, unknown> = {};
    for (const k of new Set(query.keys())) {
      const all = query.getAll(k);
      fields[k] = all.length === 1 ? all[0] : all;
    }
    return new Params(fields, true);
  }

  raw(name: string): unknown {
    return this.fields[name];
  }

  /** A string field; a JSON value of another type is the proto type error (step 312: `"name": 123`). */
  str(name: string): string | undefined {
    const v = this.fields[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return v;
    if (Array.isArray(v) && this.fromQuery) return String(v[0]);
    throw badType(name, v);
  }

  /** A required string: absent or empty is "Missing value" (steps 17, 18, 21, ...). */
  req(name: string, ...aliases: string[]): string {
    for (const n of [name, ...aliases]) {
      const v = this.str(n);
      if (v !== undefined && v !== "") return v;
    }
    throw missing(name);
  }

  int(name: string): number | undefined {
    const v = this.fields[name];
    if (v === undefined || v === null || v === "") return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) throw badType(name, v);
    return n;
  }

  list(name: string): string[] {
    const v = this.fields[name];
    if (v === undefined || v === null) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }

  /** Arrays of objects (`tags`, `metrics`, `datasets`, ...). */
  objects(name: string): Record<string, unknown>[] {
    const v = this.fields[name];
    return Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => !!x && typeof x === "object" && !Array.isArray(x)).map((x) => Object.fromEntries(Object.entries(x))) : [];
  }

  bool(name: string): boolean {
    const v = this.fields[name];
    return v === true || v === "true";
  }
}

/** `[{key, value}]` as sent in create calls. */
export const keyValues = (items: Record<string, unknown>[]): [string, string][] => items.map((t) => [String(t.key ?? ""), t.value === undefined ? "" : String(t.value)]);

// Page tokens: opaque base64 of an offset; anything else is refused as step 57 shows.
export const pageToken = (offset: number): string => Buffer.from(JSON.stringify({ offset })).toString("base64");
export function pageOffset(token: string | undefined): number {
  if (!token) return 0;
  const fail = invalid("Invalid page token, could not base64-decode");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || token.length % 4 !== 0) throw fail;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
    const offset = parsed && typeof parsed === "object" && "offset" in parsed ? Number(parsed.offset) : NaN;
    if (Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // falls through to the recorded error
  }
  throw invalid("Invalid page token, could not parse offset");
}

/** One page of `items` and the next token: a token whenever more remain, even at max 0 (step 243). */
export function page<T>(items: T[], max: number, token: string | undefined): { items: T[]; next?: string } {
  const offset = pageOffset(token);
  const slice = items.slice(offset, offset + max);
  return offset + max < items.length ? { items: slice, next: pageToken(offset + max) } : { items: slice };
}

/** Strictly increasing milliseconds: orderings by time stay deterministic when calls share a millisecond. */
export function clock(): () => number {
  let last = 0;
  return () => (last = Math.max(Date.now(), last + 1));
}

export const hexId = (): string => randomBytes(16).toString("hex");
