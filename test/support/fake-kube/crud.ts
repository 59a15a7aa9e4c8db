// The fake API server's write semantics: create, replace, patch (merge/json/strategic/apply), delete with propagation.
import YAML from "yaml";
import { applyOwned, updateOwned } from "./fields.ts";
import { clone, isObj, jsonPatch, mergePatch, type Json, type Obj } from "./patch.ts";
import { alreadyExists, ApiError, invalid, notFound, type ResourceInfo } from "./resources.ts";
import { meta, str, type Store } from "./store.ts";

/** Extra validation (e.g. the official CRD schemas): returns error strings, empty when valid. */
export type Validator = (obj: Obj, resource: ResourceInfo) => readonly string[];

export interface Ctx {
  readonly store: Store;
  readonly validate: Validator | undefined;
  readonly resource: ResourceInfo;
  readonly namespace: string;
  readonly query: URLSearchParams;
  /** Who writes (?fieldManager, else the User-Agent's product): the owner of what a non-apply write changes. */
  readonly manager: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
let generated = 0;

export function parseBody(raw: string, contentType: string): Json {
  try {
    if (contentType.includes("yaml")) return YAML.parse(raw) ?? null;
    return raw ? JSON.parse(raw) : null;
  } catch {
    throw new ApiError(400, "BadRequest", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
}

function check(ctx: Ctx, obj: Obj, name: string): void {
  const r = ctx.resource;
  const causes: { field: string; message: string }[] = [];
  if (!name) causes.push({ field: "metadata.name", message: "Required value: name or generateName is required" });
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    causes.push({ field: "metadata.name", message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` });
  }
  const labels = meta(obj).labels;
  if (isObj(labels)) {
    for (const [k, v] of Object.entries(labels)) {
      if (typeof v !== "string" || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
        causes.push({ field: `metadata.labels`, message: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.' (key ${k})` });
      }
    }
  }
  for (const e of ctx.validate?.(obj, r) ?? []) causes.push({ field: "spec", message: e });
  if (causes.length) throw invalid(r, name, causes);
}

function checkTypeMeta(ctx: Ctx, obj: Obj): void {
  const r = ctx.resource;
  const want = r.group ? `${r.group}/${r.version}` : r.version;
  if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
    throw new ApiError(400, "BadRequest", `the API version in the data (${str(obj.apiVersion)}) does not match the expected API version (${want})`);
  }
  if (obj.kind !== undefined && obj.kind !== r.kind) {
    throw new ApiError(400, "BadRequest", `the kind in the data (${str(obj.kind)}) does not match the expected kind (${r.kind})`);
  }
  const ns = meta(obj).namespace;
  if (r.namespaced && typeof ns === "string" && ns !== "" && ns !== ctx.namespace) {
    throw new ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
  }
}

const dryRun = (ctx: Ctx): boolean => ctx.query.get("dryRun") === "All";
const groupVersion = (r: ResourceInfo): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** `applied`: the managedFields of a server-side apply that creates; a plain create is its creator's Update. */
export function create(ctx: Ctx, body: Json, applied?: Json): { code: number; body: Obj } {
  if (!isObj(body)) throw new ApiError(400, "BadRequest", "the body must be an object");
  checkTypeMeta(ctx, body);
  const m = meta(body);
  if (!str(m.name) && str(m.generateName)) m.name = `${str(m.generateName)}${(++generated).toString(36).padStart(5, "x")}`;
  check(ctx, body, str(m.name));
  m.managedFields = applied ?? updateOwned(undefined, body, { manager: ctx.manager, apiVersion: groupVersion(ctx.resource) });
  if (dryRun(ctx)) {
    if (ctx.store.get(ctx.resource, ctx.namespace, str(m.name))) throw alreadyExists(ctx.resource, str(m.name));
    return { code: 201, body: clone(body) };
  }
  return { code: 201, body: ctx.store.create(ctx.resource, ctx.namespace, body) };
}

/** Writes to the main resource keep status; writes to /status keep everything but status (status subresource rule). */
function applyScope(ctx: Ctx, prev: Obj, next: Obj, sub: string | undefined): Obj {
  if (!ctx.resource.status) return next;
  if (sub === "status") return { ...prev, status: next.status ?? null, metadata: { ...meta(prev), resourceVersion: meta(next).resourceVersion ?? null } };
  const out: Obj = { ...next };
  if (prev.status !== undefined) out.status = prev.status;
  else delete out.status;
  return out;
}

/** `applied`: the managedFields a server-side apply computed; any other write to the object takes what it changed. */
function write(ctx: Ctx, name: string, prev: Obj, next: Obj, sub: string | undefined, applied?: Json): Obj {
  const rv = meta(next).resourceVersion;
  if (typeof rv === "string" && rv !== "" && rv !== meta(prev).resourceVersion) {
    throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${ctx.resource.plural}${ctx.resource.group ? "." + ctx.resource.group : ""} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: ctx.resource.group, kind: ctx.resource.plural });
  }
  const scoped = applyScope(ctx, prev, next, sub);
  // Status writes leave ownership as it was (the fake tracks no status fields).
  const managed = sub === "status" ? (meta(prev).managedFields ?? null) : (applied ?? updateOwned(prev, scoped, { manager: ctx.manager, apiVersion: groupVersion(ctx.resource) }));
  scoped.metadata = { ...meta(scoped), managedFields: managed };
  if (str(meta(scoped).name) && str(meta(scoped).name) !== name) {
    throw new ApiError(400, "BadRequest", `the name of the object (${str(meta(scoped).name)}) does not match the name on the URL (${name})`);
  }
  check(ctx, scoped, name);
  if (dryRun(ctx)) return scoped;
  return ctx.store.update(ctx.resource, ctx.namespace, name, scoped);
}

export function replace(ctx: Ctx, name: string, body: Json, sub: string | undefined): Obj {
  if (!isObj(body)) throw new ApiError(400, "BadRequest", "the body must be an object");
  checkTypeMeta(ctx, body);
  const prev = ctx.store.mustGet(ctx.resource, ctx.namespace, name);
  return write(ctx, name, prev, body, sub);
}

export function patch(ctx: Ctx, name: string, body: Json, contentType: string, sub: string | undefined): { code: number; body: Obj } {
  const manager = ctx.query.get("fieldManager") ?? "";
  const isApply = contentType.startsWith("application/apply-patch");
  if (isApply && !manager) {
    throw new ApiError(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`, {
      group: "meta.k8s.io",
      kind: "PatchOptions",
      causes: [{ reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager" }],
    });
  }
  if (!isApply && ctx.query.has("force")) {
    throw new ApiError(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`);
  }
  const prev = ctx.store.get(ctx.resource, ctx.namespace, name);
  if (isApply) {
    if (!isObj(body) || typeof body.apiVersion !== "string" || typeof body.kind !== "string") {
      throw new ApiError(400, "BadRequest", "apply patches must carry apiVersion and kind");
    }
    checkTypeMeta(ctx, body);
    const force = ctx.query.get("force") === "true";
    const config: Obj = { ...body, metadata: { ...meta(body), name } };
    // Server-side apply creates the object when it does not exist yet.
    if (!prev) {
      const created = applyOwned(undefined, config, { manager, force, apiVersion: str(body.apiVersion) });
      return create(ctx, created, meta(created).managedFields);
    }
    const merged = applyOwned(prev, config, { manager, force, apiVersion: str(body.apiVersion) });
    return { code: 200, body: write(ctx, name, prev, { ...merged, metadata: { ...meta(merged), resourceVersion: meta(prev).resourceVersion ?? null } }, sub, meta(merged).managedFields) };
  }
  if (!prev) throw notFound(ctx.resource, name);
  let next: Json;
  if (contentType.startsWith("application/json-patch+json")) next = jsonPatch(prev, body);
  else if (contentType.startsWith("application/merge-patch+json") || contentType.startsWith("application/strategic-merge-patch+json")) {
    // Strategic merge patch is treated as a JSON merge patch: the fake has no per-field patch strategies.
    next = mergePatch(prev, body);
  } else {
    throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
  }
  if (!isObj(next)) throw new ApiError(422, "Invalid", "patch result is not an object");
  return { code: 200, body: write(ctx, name, prev, next, sub) };
}

export type Propagation = "Background" | "Foreground" | "Orphan";

export function propagationOf(query: URLSearchParams, body: Json): Propagation {
  const raw = query.get("propagationPolicy") ?? (isObj(body) && typeof body.propagationPolicy === "string" ? body.propagationPolicy : "Background");
  if (raw !== "Background" && raw !== "Foreground" && raw !== "Orphan") {
    throw new ApiError(422, "Invalid", `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${raw}": supported values: "Foreground", "Background", "Orphan"`);
  }
  return raw;
}

/** Delete with the garbage collector's propagation: dependents (ownerReferences) go too unless Orphan. */
export function remove(ctx: Ctx, name: string, policy: Propagation): { code: number; body: Obj } {
  const obj = ctx.store.mustGet(ctx.resource, ctx.namespace, name);
  const uid = str(meta(obj).uid);
  if (dryRun(ctx)) return { code: 200, body: obj };
  const cascade = (): void => {
    for (const d of ctx.store.dependents(uid)) {
      const dm = meta(d.object);
      const dns = str(dm.namespace);
      if (policy === "Orphan") {
        const refs = Array.isArray(dm.ownerReferences) ? dm.ownerReferences.filter((r) => !(isObj(r) && r.uid === uid)) : [];
        ctx.store.update(d.resource, dns, str(dm.name), { ...d.object, metadata: { ...dm, ownerReferences: refs } });
      } else {
        removeTree(ctx.store, d.resource, dns, str(dm.name));
      }
    }
  };
  if (policy === "Foreground") {
    // The owner is marked (deletionTimestamp + foregroundDeletion finalizer), its dependents go, then the owner.
    const marked = ctx.store.update(ctx.resource, ctx.namespace, name, {
      ...obj,
      metadata: { ...meta(obj), deletionTimestamp: new Date().toISOString(), finalizers: ["foregroundDeletion"] },
    });
    setImmediate(() => {
      cascade();
      if (ctx.store.get(ctx.resource, ctx.namespace, name)) ctx.store.remove(ctx.resource, ctx.namespace, name);
    });
    return { code: 200, body: marked };
  }
  ctx.store.remove(ctx.resource, ctx.namespace, name);
  // Background: the garbage collector removes dependents after the owner is gone.
  setImmediate(cascade);
  return {
    code: 200,
    body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: ctx.resource.group, kind: ctx.resource.plural, uid } },
  };
}

function removeTree(store: Store, r: ResourceInfo, ns: string, name: string): void {
  const obj = store.get(r, ns, name);
  if (!obj) return;
  for (const d of store.dependents(str(meta(obj).uid))) removeTree(store, d.resource, str(meta(d.object).namespace), str(meta(d.object).name));
  store.remove(r, ns, name);
}
