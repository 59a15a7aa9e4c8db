// Replays the recorded MLflow 2.17.2 transcript (test/fixtures/mlflow-golden) against a server and compares each answer,
// with the matching rules of the reference replay.mjs: status, error_code, every key and literal value, placeholders.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";

export const GOLDEN_FILE = path.resolve("test/fixtures/mlflow-golden/mlflow-2.17.2.golden.json");

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Vars = Record<string, Json>;

export interface GoldenStep {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string | string[]>;
  readonly headers?: Record<string, string | null>;
  readonly body?: Json;
  readonly raw_body?: string;
  readonly raw?: boolean;
  readonly capture?: Record<string, string>;
  readonly unordered?: Record<string, string[]>;
  readonly status: number;
  readonly content_type?: string;
  readonly response?: Json;
  readonly response_text?: string;
  readonly note?: string;
}

export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly json: Json | undefined;
  readonly missingVars: string[];
}

export interface Diff {
  readonly kind: string;
  readonly path: string;
  readonly msg: string;
}

export interface StepResult {
  readonly index: number;
  readonly step: GoldenStep;
  readonly answer: Answer;
  readonly diffs: Diff[];
}

export function loadGolden(file = GOLDEN_FILE): GoldenStep[] {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected an array of steps`);
  return parsed as GoldenStep[];
}

// ---- placeholders
const KINDS = ["timestamp_ms", "run_id", "experiment_id", "request_id", "uuid", "page_token", "next_page_token", "run_name", "path", "var", "any"];
const PH = `<(${KINDS.join("|")})(?::([A-Za-z0-9_]+))?>`;
const PH_FULL = new RegExp(`^${PH}$`);
const PH_ANY = new RegExp(PH, "g");
const PH_SOME = new RegExp(PH);
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Python set reprs in MLflow messages print in hash order; their elements are sorted before comparing. */
const canonicalSets = (s: string): string =>
  s.replace(/\{('[^'{}]*'(?:, '[^'{}]*')+)\}/g, (_m, inner: string) => `{${inner.split(", ").sort().join(", ")}}`);

const UNORDERED = /(\.tags|\.params|\.data\.metrics|\.request_metadata|\.aliases)$/;
const isObj = (v: Json | undefined): v is { [k: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
const keyOf = (e: Json): string => (isObj(e) ? String(e.key ?? e.alias) : "");
function sortedByKey(arr: Json[]): Json[] {
  if (!arr.every((e) => isObj(e) && ("key" in e || "alias" in e))) return arr;
  return [...arr].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}

// ---- {{var}} substitution
function subst(value: Json, vars: Vars, missing: Set<string>): Json {
  if (typeof value === "string") {
    const whole = /^\{\{(\w+)\}\}$/.exec(value);
    if (whole?.[1] !== undefined) {
      const v = vars[whole[1]];
      if (v === undefined) missing.add(whole[1]);
      return v ?? `__missing_${whole[1]}__`;
    }
    return value.replace(/\{\{(\w+)\}\}/g, (_m, n: string) => {
      const v = vars[n];
      if (v === undefined) missing.add(n);
      return v === undefined ? `__missing_${n}__` : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => subst(v, vars, missing));
  if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, subst(v, vars, missing)]));
  return value;
}

/** $.a.b[0].c, $.a[-1].b, $.list[key=foo].value */
function getPath(obj: Json | undefined, p: string): Json | undefined {
  let cur = obj;
  for (const m of p.slice(1).matchAll(/\.([A-Za-z0-9_]+)|\[(-?\d+)\]|\[([A-Za-z0-9_]+)=([^\]]*)\]/g)) {
    if (cur === undefined || cur === null) return undefined;
    if (m[1] !== undefined) cur = isObj(cur) ? cur[m[1]] : undefined;
    else if (m[2] !== undefined) cur = Array.isArray(cur) ? cur.at(Number(m[2])) : undefined;
    else cur = Array.isArray(cur) ? cur.find((e) => isObj(e) && String(e[m[3] ?? ""]) === m[4]) : undefined;
  }
  return cur;
}

// ---- sending
function rawRequest(url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; contentType: string; text: string }> {
  // node:http sends the path byte for byte (fetch resolves "..", and refuses a body on GET).
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const rawPath = url.slice(url.indexOf("/", u.protocol.length + 2));
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request({ host: u.hostname, port: u.port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"] ?? ""), text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export async function execute(base: string, step: GoldenStep, vars: Vars, token?: string): Promise<Answer> {
  const missing = new Set<string>();
  let url = base.replace(/\/+$/, "") + String(subst(step.path, vars, missing));
  if (step.query && Object.keys(step.query).length) {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(step.query)) {
      const val = subst(v, vars, missing);
      for (const x of Array.isArray(val) ? val : [val]) sp.append(k, String(x));
    }
    url += (url.includes("?") ? "&" : "?") + sp.toString();
  }
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (step.body !== undefined) {
    body = JSON.stringify(subst(step.body, vars, missing));
    headers["Content-Type"] = "application/json";
  } else if (step.raw_body !== undefined) {
    body = String(subst(step.raw_body, vars, missing));
  }
  for (const [k, v] of Object.entries(step.headers ?? {})) {
    for (const hk of Object.keys(headers)) if (hk.toLowerCase() === k.toLowerCase()) delete headers[hk];
    if (v !== null) headers[k] = v;
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  let r: { status: number; contentType: string; text: string };
  try {
    if (step.raw) {
      if (body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(body));
      r = await rawRequest(url, step.method, headers, body);
    } else {
      const res = await fetch(url, { method: step.method, headers, body, redirect: "manual" });
      r = { status: res.status, contentType: res.headers.get("content-type") ?? "", text: await res.text() };
    }
  } catch (e) {
    r = { status: 0, contentType: "", text: `request failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  let json: Json | undefined;
  if (/json/i.test(r.contentType)) {
    try {
      json = JSON.parse(r.text) as Json;
    } catch {
      json = undefined;
    }
  }
  return { ...r, json, missingVars: [...missing] };
}

export function captureVars(step: GoldenStep, answer: Answer, vars: Vars): string[] {
  const failed: string[] = [];
  for (const [name, p] of Object.entries(step.capture ?? {})) {
    const v = getPath(answer.json, p);
    if (v === undefined || v === null) failed.push(name);
    else vars[name] = v;
  }
  return failed;
}

// ---- comparing
const show = (v: Json | undefined): string => {
  const s = JSON.stringify(v) ?? "undefined";
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
};
const jtype = (v: Json | undefined): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function placeholderRegex(golden: string, vars: Vars): RegExp {
  let re = "";
  let last = 0;
  for (const m of golden.matchAll(PH_ANY)) {
    re += escapeRe(golden.slice(last, m.index));
    const captured = m[2] !== undefined ? vars[m[2]] : undefined;
    if (captured !== undefined) re += escapeRe(String(captured));
    else if (m[1] === "timestamp_ms") re += "\\d+";
    else re += "[\\s\\S]+?";
    last = (m.index ?? 0) + m[0].length;
  }
  return new RegExp(`^${re}${escapeRe(golden.slice(last))}$`);
}

function compareValue(g: Json, a: Json | undefined, p: string, vars: Vars, diffs: Diff[]): void {
  if (typeof g === "string") {
    const full = PH_FULL.exec(g);
    if (full) {
      const [, kind, name] = full;
      if (kind === "timestamp_ms") {
        if (typeof a !== "number" || !Number.isInteger(a)) diffs.push({ kind: "value", path: p, msg: `expected an integer timestamp, got ${show(a)}` });
        return;
      }
      if (kind === "any") {
        if (a === undefined) diffs.push({ kind: "value", path: p, msg: "expected a value" });
        return;
      }
      if (typeof a !== "string" || a === "") {
        diffs.push({ kind: "value", path: p, msg: `expected a non-empty string (${g}), got ${show(a)}` });
        return;
      }
      if (name !== undefined) {
        const captured = vars[name];
        if (captured === undefined) diffs.push({ kind: "value", path: p, msg: `cannot check ${g}: var ${name} was not captured` });
        else if (String(captured) !== a) diffs.push({ kind: "value", path: p, msg: `expected ${g} = ${show(captured)}, got ${show(a)}` });
      }
      return;
    }
    if (PH_SOME.test(g)) {
      if (typeof a !== "string" || !placeholderRegex(g, vars).test(canonicalSets(a))) diffs.push({ kind: "value", path: p, msg: `expected ${show(g)}, got ${show(a)}` });
      return;
    }
    if (typeof a !== "string" || canonicalSets(g) !== canonicalSets(a)) diffs.push({ kind: "value", path: p, msg: `expected ${show(g)}, got ${show(a)}` });
    return;
  }
  if (jtype(g) !== jtype(a)) {
    diffs.push({ kind: "value", path: p, msg: `expected ${jtype(g)} ${show(g)}, got ${jtype(a)} ${show(a)}` });
    return;
  }
  if (Array.isArray(g) && Array.isArray(a)) {
    const [gs, as] = UNORDERED.test(p) ? [sortedByKey(g), sortedByKey(a)] : [g, a];
    if (gs.length !== as.length) diffs.push({ kind: "length", path: p, msg: `expected ${gs.length} items, got ${as.length}` });
    for (let i = 0; i < Math.min(gs.length, as.length); i++) compareValue(gs[i] ?? null, as[i], `${p}[${i}]`, vars, diffs);
    return;
  }
  if (isObj(g) && isObj(a)) {
    for (const [k, gv] of Object.entries(g)) {
      if (!(k in a)) diffs.push({ kind: "missing", path: `${p}.${k}`, msg: `missing key (expected ${show(gv)})` });
      else compareValue(gv, a[k], `${p}.${k}`, vars, diffs);
    }
    for (const k of Object.keys(a)) if (!(k in g)) diffs.push({ kind: "extra", path: `${p}.${k}`, msg: `extra key = ${show(a[k])}` });
    return;
  }
  if (g !== a) diffs.push({ kind: "value", path: p, msg: `expected ${show(g)}, got ${show(a)}` });
}

/** step.unordered: arrays whose server order is not deterministic, sorted by the given fields on both sides first. */
function applyUnordered(spec: Record<string, string[]>, g: Json, a: Json | undefined, vars: Vars): [Json, Json | undefined] {
  const gc = structuredClone(g);
  const ac = a === undefined ? a : structuredClone(a);
  const resolve = (v: Json | undefined): Json | undefined => {
    if (typeof v !== "string") return v;
    const m = PH_FULL.exec(v);
    return m?.[2] !== undefined && vars[m[2]] !== undefined ? vars[m[2]] : v;
  };
  for (const [p, fields] of Object.entries(spec)) {
    const keys = p.replace(/^\$\.?/, "").split(".").filter(Boolean);
    const sortAt = (root: Json | undefined, res: boolean): void => {
      let parent = root;
      for (const k of keys.slice(0, -1)) parent = isObj(parent) ? parent[k] : undefined;
      const last = keys.at(-1) ?? "";
      if (!isObj(parent)) return;
      const arr = parent[last];
      if (!Array.isArray(arr)) return;
      const key = (e: Json): string => JSON.stringify(fields.map((f) => (isObj(e) ? (res ? resolve(e[f]) : e[f]) : undefined) ?? null));
      parent[last] = [...arr].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
    };
    sortAt(gc, true);
    sortAt(ac, false);
  }
  return [gc, ac];
}

export const mediaType = (ct: string): string => (ct.split(";")[0] ?? "").trim().toLowerCase();

export function compareStep(step: GoldenStep, answer: Answer, vars: Vars, opts: { ignoreMessages: boolean }): Diff[] {
  const diffs: Diff[] = [];
  if (answer.missingVars.length) diffs.push({ kind: "vars", path: "", msg: `request used vars not captured: ${answer.missingVars.join(", ")}` });
  if (step.status !== answer.status) diffs.push({ kind: "status", path: "", msg: `status: expected ${step.status}, got ${answer.status}` });
  const gErr = isObj(step.response) ? step.response.error_code : undefined;
  const aErr = isObj(answer.json) ? answer.json.error_code : undefined;
  if (gErr !== aErr) diffs.push({ kind: "error_code", path: "$.error_code", msg: `error_code: expected ${String(gErr ?? "-")}, got ${String(aErr ?? "-")}` });
  if (step.response !== undefined) {
    if (answer.json === undefined) {
      diffs.push({ kind: "body_kind", path: "", msg: `body: expected JSON, got ${mediaType(answer.contentType) || "no content-type"}: ${answer.text.slice(0, 200)}` });
      return diffs;
    }
    const [g, a] = step.unordered ? applyUnordered(step.unordered, step.response, answer.json, vars) : [step.response, answer.json];
    const sub: Diff[] = [];
    compareValue(g, a, "$", vars, sub);
    for (const d of sub) {
      if (d.path === "$.error_code") continue; // reported above
      if (d.path === "$.message") {
        if (!opts.ignoreMessages && d.kind === "value") diffs.push({ kind: "message", path: d.path, msg: `message: ${d.msg}` });
        continue;
      }
      diffs.push(d);
    }
  } else {
    const sub: Diff[] = [];
    compareValue(step.response_text ?? "", answer.text, "$text", vars, sub);
    if (sub.length) diffs.push({ kind: "body_kind", path: "", msg: `body: expected ${String(step.content_type)} ${show(step.response_text)}, got ${show(answer.text.slice(0, 200))}` });
    if (step.content_type && mediaType(answer.contentType) !== step.content_type) {
      diffs.push({ kind: "content_type", path: "", msg: `content-type: expected ${step.content_type}, got ${mediaType(answer.contentType) || "none"}` });
    }
  }
  return diffs;
}

/** Run every step in order against a fresh server (the transcript creates fixed names). */
export async function replay(base: string, opts: { token?: string | undefined; ignoreMessages: boolean; steps?: GoldenStep[] }): Promise<StepResult[]> {
  const steps = opts.steps ?? loadGolden();
  const vars: Vars = {};
  const out: StepResult[] = [];
  for (const [i, step] of steps.entries()) {
    const answer = await execute(base, step, vars, opts.token);
    const capFailed = captureVars(step, answer, vars);
    const diffs = compareStep(step, answer, vars, opts);
    for (const c of capFailed) diffs.push({ kind: "capture", path: step.capture?.[c] ?? "", msg: `could not capture ${c}` });
    out.push({ index: i + 1, step, answer, diffs });
  }
  return out;
}

export function describe(r: StepResult): string {
  return `${String(r.index).padStart(3, "0")} ${r.step.name} [${r.step.method} ${r.step.path}]\n${r.diffs.map((d) => `     ${d.kind} ${d.path}: ${d.msg}`).join("\n")}`;
}
