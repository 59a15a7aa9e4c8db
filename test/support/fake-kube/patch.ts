// Patch and selector semantics of the fake API server: RFC 7386 merge patch, RFC 6902 JSON patch, label/field selectors.
import { ApiError } from "./resources.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = { [k: string]: Json };

export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export const clone = <T>(v: T): T => structuredClone(v);

/** RFC 7386: null deletes, objects merge recursively, anything else replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 (add, remove, replace, test, copy, move). An operation that does not apply is a 422, as the API server says. */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new ApiError(400, "BadRequest", "json patch must be an array of operations");
  let out = clone(doc);
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") {
      throw new ApiError(400, "BadRequest", "each json patch operation needs op and path");
    }
    const { op, path } = raw;
    const value = raw.value ?? null;
    switch (op) {
      case "add":
      case "replace":
        out = setPointer(out, path, clone(value), op);
        break;
      case "remove":
        out = removePointer(out, path);
        break;
      case "test":
        if (JSON.stringify(getPointer(out, path)) !== JSON.stringify(value)) {
          throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: test failed at ${path}`);
        }
        break;
      case "copy":
      case "move": {
        if (typeof raw.from !== "string") throw new ApiError(400, "BadRequest", `${op} needs from`);
        const v = clone(getPointer(out, raw.from));
        if (op === "move") out = removePointer(out, raw.from);
        out = setPointer(out, path, v, "add");
        break;
      }
      default:
        throw new ApiError(400, "BadRequest", `unknown json patch op ${op}`);
    }
  }
  return out;
}

const tokens = (pointer: string): string[] =>
  pointer === "" ? [] : pointer.slice(1).split("/").map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));

function getPointer(doc: Json, pointer: string): Json {
  let cur: Json = doc;
  for (const t of tokens(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(t)] ?? missing(pointer);
    else if (isObj(cur) && t in cur) cur = cur[t] ?? null;
    else return missing(pointer);
  }
  return cur;
}

function missing(pointer: string): never {
  throw new ApiError(422, "Invalid", `the server rejected our request: path ${pointer} does not exist`);
}

function setPointer(doc: Json, pointer: string, value: Json, op: "add" | "replace"): Json {
  const ts = tokens(pointer);
  if (ts.length === 0) return value;
  const last = ts.pop() ?? "";
  const parent = getPointer(doc, ts.length ? "/" + ts.join("/") : "");
  if (Array.isArray(parent)) {
    const i = last === "-" ? parent.length : Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) missing(pointer);
    if (op === "add") parent.splice(i, 0, value);
    else parent[i] = value;
  } else if (isObj(parent)) {
    if (op === "replace" && !(last in parent)) missing(pointer);
    parent[last] = value;
  } else missing(pointer);
  return doc;
}

function removePointer(doc: Json, pointer: string): Json {
  const ts = tokens(pointer);
  const last = ts.pop() ?? "";
  const parent = getPointer(doc, ts.length ? "/" + ts.join("/") : "");
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isObj(parent) && last in parent) delete parent[last];
  else missing(pointer);
  return doc;
}

type Requirement = (labels: Record<string, string>) => boolean;

/** Label selector syntax: a=b, a==b, a!=b, a, !a, a in (x,y), a notin (x,y). Bad syntax is a 400. */
export function parseLabelSelector(selector: string | null): Requirement {
  if (!selector) return () => true;
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  const reqs = parts.map((p) => p.trim()).filter(Boolean).map(parseRequirement);
  return (labels) => reqs.every((r) => r(labels));
}

function parseRequirement(p: string): Requirement {
  let m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p);
  if (m) {
    const [, key = "", op, list = ""] = m;
    const values = list.split(",").map((s) => s.trim());
    return op === "in"
      ? (l) => l[key] !== undefined && values.includes(l[key] ?? "")
      : (l) => l[key] === undefined || !values.includes(l[key] ?? "");
  }
  m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p);
  if (m) {
    const [, key = "", op, value = ""] = m;
    return op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  m = /^(!?)([\w./-]+)$/.exec(p);
  if (m) {
    const [, not, key = ""] = m;
    return not ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
  }
  throw new ApiError(400, "BadRequest", `unable to parse requirement: ${p}`);
}

/** Field selectors the fake supports: metadata.name and metadata.namespace (= / == / !=). */
export function parseFieldSelector(selector: string | null): (obj: Obj) => boolean {
  if (!selector) return () => true;
  const reqs = selector.split(",").map((p) => {
    const m = /^(metadata\.name|metadata\.namespace|status\.phase)\s*(==|=|!=)\s*(.*)$/.exec(p.trim());
    if (!m) throw new ApiError(400, "BadRequest", `field label not supported: ${p}`);
    const [, field = "", op, value = ""] = m;
    return (o: Obj): boolean => {
      const [a = "", b = ""] = field.split(".");
      const outer = o[a];
      const actual = isObj(outer) ? outer[b] : undefined;
      return op === "!=" ? actual !== value : actual === value;
    };
  });
  return (o) => reqs.every((r) => r(o));
}
