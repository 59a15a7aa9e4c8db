// Validates Kubernetes objects against the official CRDs in shared/schemas/crds (openAPIV3Schema via ajv).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
/** shared/ sits beside the repo (../shared from the repo root), in sessions and in CI alike. */
export const CRD_DIR = path.resolve(here, "../../../shared/schemas/crds");
/** CRDs the shared set lacks, written here from the upstream API types (each file says so in its header). */
export const LOCAL_CRD_DIR = path.join(here, "crds");

interface CrdVersion {
  name: string;
  served?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
}
interface Crd {
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

let cache: Map<string, Record<string, unknown>> | undefined;
const compiled = new Map<string, ValidateFunction>();
let ajvInstance: Ajv | undefined;

/** Reads every CRD schema once; each is compiled on first use (compiling all of them takes tens of seconds). */
function load(): Map<string, Record<string, unknown>> {
  if (cache) return cache;
  const out = new Map<string, Record<string, unknown>>();
  const files = [CRD_DIR, LOCAL_CRD_DIR].flatMap((dir) => fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => path.join(dir, f)));
  for (const file of files) {
    // AlertmanagerConfig has a bare "=" enum value that YAML 1.1 parsers choke on; the yaml package reads it fine.
    const crd = YAML.parse(fs.readFileSync(file, "utf8")) as Crd;
    for (const v of crd.spec.versions) {
      const schema = v.schema?.openAPIV3Schema;
      if (!schema) continue;
      out.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, schema);
    }
  }
  cache = out;
  return out;
}

function validator(key: string): ValidateFunction | undefined {
  const hit = compiled.get(key);
  if (hit) return hit;
  const schema = load().get(key);
  if (!schema) return undefined;
  ajvInstance ??= makeAjv();
  const fn = ajvInstance.compile(intOrString(schema));
  compiled.set(key, fn);
  return fn;
}

function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: goRegExp } });
  // Kubernetes' structural-schema extensions carry no validation ajv must know about.
  for (const kw of [
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
  ]) ajv.addKeyword(kw);
  return ajv;
}

/** CRD patterns are Go (RE2) regexes; JS has no inline (?i) flag, so lift it to the whole expression. */
const goRegExp = Object.assign(
  (source: string, flags: string): RegExp => {
    const insensitive = source.includes("(?i)");
    const f = insensitive && !flags.includes("i") ? flags + "i" : flags;
    return new RegExp(source.replaceAll("(?i)", ""), f);
  },
  { code: "new RegExp" },
);

/** x-kubernetes-int-or-string fields have no "type"; make that explicit so ajv accepts both forms. */
function intOrString(schema: unknown): Record<string, unknown> {
  if (Array.isArray(schema)) return schema.map(intOrString) as unknown as Record<string, unknown>;
  if (!schema || typeof schema !== "object") return schema as Record<string, unknown>;
  const s: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) s[k] = typeof v === "object" ? intOrString(v) : v;
  if (s["x-kubernetes-int-or-string"] === true) {
    delete s.type;
    s.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  return s;
}

export function hasCrd(apiVersion: string, kind: string): boolean {
  return load().has(`${apiVersion}/${kind}`);
}

/** Returns a list of schema errors (empty = valid). Throws if no CRD covers apiVersion/kind. */
export function crdErrors(obj: { apiVersion?: unknown; kind?: unknown }): string[] {
  const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
  const validate = validator(key);
  if (!validate) throw new Error(`no CRD schema for ${key}`);
  if (validate(obj)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}
