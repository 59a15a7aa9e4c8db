// Request decoding for the embedded MLflow server: GET query or JSON body into a typed accessor with MLflow's validation.
import { IncomingMessage } from "node:http";
import type { Context } from "hono";
import { invalid } from "./errors.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The node request behind a Hono context, when served by @hono/node-server (it keeps a GET's body and the raw path). */
export function incomingOf(c: Context): IncomingMessage | undefined {
  const env: unknown = c.env;
  const inc: unknown = typeof env === "object" && env !== null && "incoming" in env ? env.incoming : undefined;
  return inc instanceof IncomingMessage ? inc : undefined;
}

async function getBody(c: Context): Promise<string> {
  // fetch's Request has no body on GET; MLflow reads a GET's parameters from a JSON body when the query is empty.
  const inc = incomingOf(c);
  if (!inc || inc.readableEnded) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of inc) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_BODY_BYTES) throw invalid("Request body is too large");
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** MLflow refuses a POST/PUT body that is not declared as JSON. */
function checkContentType(c: Context): void {
  if (c.req.method !== "POST" && c.req.method !== "PUT") return;
  const ct = c.req.header("content-type");
  if (ct === undefined || ct === "") throw invalid("Bad Request. Content-Type header is missing.");
  if ((ct.split(";")[0] ?? "").trim().toLowerCase() !== "application/json") {
    throw invalid("Bad Request. Content-Type must be one of ['application/json'].");
  }
}

/** Read the request message the way MLflow's server does: query string for GET, JSON body otherwise. */
export async function readMessage(c: Context): Promise<Msg> {
  if (c.req.method === "GET") {
    const sp = new URL(c.req.url).searchParams;
    if ([...sp.keys()].length > 0) return new Msg(queryObject(sp));
    const body = await getBody(c);
    return body.trim() === "" ? new Msg({}) : new Msg(parseBody(body));
  }
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw invalid("Request body is too large");
  if (text.trim() !== "") checkContentType(c);
  if (text.trim() === "") {
    // Some clients send DELETE parameters in the query string; accept them there too.
    return new Msg(queryObject(new URL(c.req.url).searchParams));
  }
  return new Msg(parseBody(text));
}

function parseBody(text: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("Malformed JSON in request body");
  }
  if (!isObject(parsed)) throw invalid("Request body must be a JSON object");
  return parsed;
}

function queryObject(sp: URLSearchParams): JsonObject {
  const out: { [k: string]: Json } = {};
  for (const key of new Set(sp.keys())) {
    const all = sp.getAll(key);
    out[key] = all.length > 1 ? all : (all[0] ?? "");
  }
  return out;
}

const missing = (field: string): Error =>
  invalid(`Missing value for required parameter '${field}'. See the API docs for more information about request parameters.`);

/** Typed access to one request message; every failure is INVALID_PARAMETER_VALUE naming the field. */
export class Msg {
  constructor(readonly raw: JsonObject) {}

  has(field: string): boolean {
    const v = this.raw[field];
    return v !== undefined && v !== null;
  }

  str(field: string): string | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied: expected a string`);
  }

  /** A required field that must be a JSON string (MLflow's proto parser refuses a number there). */
  reqText(field: string): string {
    const v = this.raw[field];
    if (v !== undefined && v !== null && typeof v !== "string") {
      throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied: expected a string`);
    }
    return this.reqStr(field);
  }

  reqStr(field: string): string {
    const v = this.str(field);
    if (v === undefined || v === "") throw missing(field);
    return v;
  }

  /** The first non-empty of several aliases (run_id / run_uuid). */
  reqOneOf(...fields: string[]): string {
    for (const f of fields) {
      const v = this.str(f);
      if (v) return v;
    }
    throw missing(fields[0] ?? "");
  }

  int(field: string): number | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null || v === "") return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n)) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied: expected an integer`);
    return n;
  }

  reqInt(field: string): number {
    const v = this.int(field);
    if (v === undefined) throw missing(field);
    return v;
  }

  num(field: string): number | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    return toNumber(v, field);
  }

  bool(field: string): boolean | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "True") return true;
    if (v === "false" || v === "False") return false;
    throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied: expected a boolean`);
  }

  strList(field: string): string[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    const arr = Array.isArray(v) ? v : [v];
    return arr.map((x) => {
      if (typeof x === "string") return x;
      if (typeof x === "number") return String(x);
      throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied: expected a list of strings`);
    });
  }

  objList(field: string): JsonObject[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every(isObject)) {
      throw invalid(`Invalid value ${JSON.stringify(v).slice(0, 200)} for parameter '${field}' supplied: expected a list of objects`);
    }
    return v;
  }

  /** key/value pairs (tags, params) with required string keys. */
  keyValues(field: string): { key: string; value: string }[] {
    return this.objList(field).map((o, i) => {
      const m = new Msg(o);
      const key = m.str("key");
      if (!key) throw invalid(`Missing value for required parameter '${field}[${i}].key'.`);
      return { key, value: m.str("value") ?? "" };
    });
  }
}

export function toNumber(v: Json | undefined, field: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    if (v === "NaN") return Number.NaN;
    if (v === "Infinity") return Number.POSITIVE_INFINITY;
    if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
    const n = Number(v);
    if (v.trim() !== "" && !Number.isNaN(n)) return n;
  }
  throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied: expected a number`);
}

/** Drop undefined/null fields and empty lists, as MLflow's proto-to-JSON does for unset fields. */
export function compact(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out;
}
