// A small kustomize: what Flywheel's manifests use (resources, components, patches: strategic-merge maps and JSON
// 6902, labels, namespace), so `flywheel manifests` works without kubectl. Anything else is refused by name.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { CLUSTER_SCOPED, type K8sObject } from "./object.ts";
import { parseYaml, parseYamlDocuments } from "../yaml.ts";

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "components", "patches", "labels", "namespace"]);

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}
interface PatchEntry {
  path?: string;
  patch?: string;
  target?: PatchTarget;
}
interface LabelEntry {
  pairs: Record<string, string>;
  includeSelectors?: boolean;
  includeTemplates?: boolean;
}
interface Kustomization {
  resources?: string[];
  components?: string[];
  patches?: PatchEntry[];
  labels?: LabelEntry[];
  namespace?: string;
}

export class KustomizeError extends Error {
  override readonly name = "KustomizeError";
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function readKustomization(dir: string): Kustomization {
  const file = ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!file) throw new KustomizeError(`no kustomization.yaml in ${dir}`);
  const k = parseYaml(fs.readFileSync(file, "utf8"));
  if (!isMap(k)) throw new KustomizeError(`${file}: not a mapping`);
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new KustomizeError(`${file}: field ${key} is not supported by this renderer (use kubectl kustomize)`);
  return k as Kustomization;
}

function parseStream(text: string, where: string): K8sObject[] {
  let docs: unknown[];
  try {
    docs = parseYamlDocuments(text);
  } catch (e) {
    throw new KustomizeError(`${where}: ${e instanceof Error ? e.message : "bad YAML"}`);
  }
  return docs
    .filter((o): o is K8sObject => isMap(o) && typeof o.kind === "string" && isMap(o.metadata));
}

/** Render a kustomization directory to its objects, in kustomize's legacy order. */
export function kustomizeBuild(dir: string): K8sObject[] {
  return legacySort(build(path.resolve(dir)));
}

function build(dir: string): K8sObject[] {
  const k = readKustomization(dir);
  let objs: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (fs.statSync(p).isDirectory()) objs.push(...build(p));
    else objs.push(...parseStream(fs.readFileSync(p, "utf8"), p));
  }
  // A component adds its resources, then transforms everything accumulated so far.
  for (const c of k.components ?? []) objs = applyOwn(path.resolve(dir, c), readKustomization(path.resolve(dir, c)), objs, true);
  return applyOwn(dir, k, objs, false);
}

function applyOwn(dir: string, k: Kustomization, input: K8sObject[], component: boolean): K8sObject[] {
  let objs = input;
  if (component) {
    for (const r of k.resources ?? []) {
      const p = path.resolve(dir, r);
      objs = [...objs, ...(fs.statSync(p).isDirectory() ? build(p) : parseStream(fs.readFileSync(p, "utf8"), p))];
    }
  }
  for (const entry of k.patches ?? []) objs = applyPatch(dir, entry, objs);
  for (const l of k.labels ?? []) {
    if (l.includeSelectors || l.includeTemplates) throw new KustomizeError("labels with includeSelectors/includeTemplates are not supported by this renderer");
    objs = objs.map((o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...l.pairs } } }));
  }
  if (k.namespace) objs = objs.map((o) => withNamespace(o, k.namespace!));
  return objs;
}

function withNamespace(o: K8sObject, ns: string): K8sObject {
  if (CLUSTER_SCOPED.has(o.kind)) return o;
  const out: K8sObject = { ...o, metadata: { ...o.metadata, namespace: ns } };
  if ((o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") && Array.isArray(o.subjects)) {
    out.subjects = o.subjects.map((s: unknown) => (isMap(s) && s.kind === "ServiceAccount" ? { ...s, namespace: ns } : s));
  }
  return out;
}

function groupVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function matches(o: K8sObject, t: PatchTarget): boolean {
  const gv = groupVersion(o.apiVersion);
  return (
    (t.group === undefined || t.group === gv.group) &&
    (t.version === undefined || t.version === gv.version) &&
    (t.kind === undefined || t.kind === o.kind) &&
    (t.name === undefined || t.name === o.metadata.name) &&
    (t.namespace === undefined || t.namespace === o.metadata.namespace)
  );
}

function applyPatch(dir: string, entry: PatchEntry, objs: K8sObject[]): K8sObject[] {
  const text = entry.patch ?? (entry.path ? fs.readFileSync(path.resolve(dir, entry.path), "utf8") : undefined);
  if (text === undefined) throw new KustomizeError(`${dir}: a patch needs path or patch`);
  const doc = parseYaml(text);
  if (Array.isArray(doc)) {
    if (!entry.target) throw new KustomizeError(`${dir}: a JSON 6902 patch needs a target`);
    const target = entry.target;
    let hit = false;
    const out = objs.map((o) => {
      if (!matches(o, target)) return o;
      hit = true;
      return jsonPatch(o, doc);
    });
    if (!hit) throw new KustomizeError(`${dir}: patch target ${JSON.stringify(target)} matches nothing`);
    return out;
  }
  if (!isMap(doc) || !isMap(doc.metadata)) throw new KustomizeError(`${dir}: strategic-merge patch needs apiVersion, kind and metadata`);
  const meta = doc.metadata;
  const target: PatchTarget = entry.target ?? {
    ...groupVersion(String(doc.apiVersion)),
    kind: String(doc.kind),
    name: String(meta.name),
    ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
  };
  let hit = false;
  const out = objs.map((o) => {
    if (!matches(o, target)) return o;
    hit = true;
    return merge(o, doc) as K8sObject;
  });
  if (!hit) throw new KustomizeError(`${dir}: patch for ${String(doc.kind)}/${String(meta.name)} matches nothing`);
  return out;
}

/** Strategic merge as kustomize does it for types without merge keys: maps merge, lists replace, null deletes. */
function merge(base: unknown, patch: unknown): unknown {
  if (!isMap(base) || !isMap(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = k in base ? merge(base[k], v) : structuredClone(v);
  }
  return out;
}

function jsonPatch(o: K8sObject, ops: unknown[]): K8sObject {
  const doc = structuredClone(o) as unknown as Json;
  for (const raw of ops) {
    if (!isMap(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") throw new KustomizeError(`bad JSON patch op ${JSON.stringify(raw)}`);
    const parts = raw.path.split("/").slice(1).map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = parts.pop();
    if (last === undefined) throw new KustomizeError(`bad JSON patch path ${raw.path}`);
    let parent: Json = doc;
    for (const p of parts) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(p)] : isMap(parent) ? parent[p] : undefined;
      if (next === undefined) throw new KustomizeError(`JSON patch path ${raw.path} does not exist in ${o.kind}/${o.metadata.name}`);
      parent = next;
    }
    const value = structuredClone(raw.value) as Json;
    if (Array.isArray(parent)) {
      const i = last === "-" ? parent.length : Number(last);
      if (raw.op === "add") parent.splice(i, 0, value);
      else if (raw.op === "replace") parent[i] = value;
      else if (raw.op === "remove") parent.splice(i, 1);
      else throw new KustomizeError(`JSON patch op ${raw.op} is not supported`);
    } else if (isMap(parent)) {
      if (raw.op === "add" || raw.op === "replace") parent[last] = value;
      else if (raw.op === "remove") delete parent[last];
      else throw new KustomizeError(`JSON patch op ${raw.op} is not supported`);
    }
  }
  return doc as unknown as K8sObject;
}

const ORDER_FIRST = [
  "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount", "PodSecurityPolicy", "Role",
  "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
  "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget",
];
const ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

function rank(kind: string): number {
  const f = ORDER_FIRST.indexOf(kind);
  if (f >= 0) return f - 1000;
  const l = ORDER_LAST.indexOf(kind);
  return l >= 0 ? 1000 + l : 0;
}

/** kustomize's legacy order: known kinds first/last, the rest by GVK, then namespace and name. */
export function legacySort(objs: K8sObject[]): K8sObject[] {
  const key = (o: K8sObject): string => {
    const gv = groupVersion(o.apiVersion);
    // kustomize's GVK string: the core group is "~G", which sorts after every named group.
    return `${gv.group || "~G"}_${gv.version}_${o.kind}`;
  };
  return [...objs].sort(
    (a, b) =>
      rank(a.kind) - rank(b.kind) ||
      (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) ||
      (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** A YAML stream with sorted keys, as `kubectl kustomize` prints it. */
export function toYamlStream(objs: readonly K8sObject[]): string {
  return objs.map((o) => YAML.stringify(o, { sortMapEntries: true, lineWidth: 0 })).join("---\n");
}
