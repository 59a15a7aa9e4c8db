// Field ownership (metadata.managedFields) as the API server keeps it for server-side apply, as far as a fake needs it:
// - an applier owns the fields its configuration names; applying again without one it owned removes that field,
//   unless another manager owns it too ("set of items ... not a superset ... each missing item not managed by any
//   other field manager is removed");
// - applying a different value to a field another manager owns is a 409 conflict, unless force=true, which takes
//   the field over; applying the same value shares it;
// - any other write (create, update, patch) takes the fields it changes from everyone else, as an Update entry.
// Lists are atomic here (the fake knows no list-map keys), status is not tracked, and metadata's system fields never
// count. The conflict's status body follows apimachinery's NewConflictError.
import { ApiError } from "./resources.ts";
import { clone, isObj, type Json, type Obj } from "./patch.ts";

type Path = readonly string[];

interface Entry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fields: Path[];
}

/** metadata fields the server owns: never part of a manager's set. */
const SYSTEM_META = new Set(["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink", "generateName"]);

const key = (p: Path): string => JSON.stringify(p);
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");
/** How the API server prints a path in a conflict (fieldpath.Path.String for fields). */
const printPath = (p: Path): string => p.map((k) => `.${k}`).join("");

/**
 * The leaf paths an object sets: nested objects are walked, anything else (lists included) is one field. An empty
 * object names no field, so applying `data: {}` gives up every key of data the applier owned.
 */
export function pathsOf(obj: Obj): Path[] {
  const out: Path[] = [];
  const walk = (v: Json, at: string[]): void => {
    if (isObj(v)) for (const [k, c] of Object.entries(v)) walk(c, [...at, k]);
    else if (v !== null) out.push(at);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind" || k === "status") continue;
    if (k === "metadata" && isObj(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SYSTEM_META.has(mk)) walk(mv, ["metadata", mk]);
    } else walk(v, [k]);
  }
  return out;
}

function valueAt(obj: Json | undefined, p: Path): Json | undefined {
  let v: Json | undefined = obj;
  for (const k of p) v = isObj(v) ? v[k] : undefined;
  return v;
}

const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);
/** One path is the other or lies under it: owning one covers the other (an atomic list, an object replaced whole). */
const overlaps = (a: Path, b: Path): boolean => a.slice(0, Math.min(a.length, b.length)).every((k, i) => k === b[i]);

function removeAt(obj: Obj, p: Path): void {
  const parents: Obj[] = [];
  let cur: Obj = obj;
  for (const k of p.slice(0, -1)) {
    const next = cur[k];
    if (!isObj(next)) return;
    parents.push(cur);
    cur = next;
  }
  delete cur[p[p.length - 1] ?? ""];
  // A map the removal left empty goes too (nothing in it is anyone's any more), up to the first non-empty one.
  for (let i = p.length - 2; i >= 0 && !Object.keys(cur).length; i--) {
    const parent = parents[i];
    if (!parent) break;
    delete parent[p[i] ?? ""];
    cur = parent;
  }
}

// fieldsV1 as the API server serialises it: {"f:spec":{"f:replicas":{}}}.
function toFieldsV1(paths: readonly Path[]): Obj {
  const root: Obj = {};
  for (const p of paths) {
    let cur = root;
    for (const k of p) {
      const f = `f:${k}`;
      const next = cur[f];
      cur = isObj(next) ? next : (cur[f] = {});
    }
  }
  return root;
}

function fromFieldsV1(v: Json | undefined): Path[] {
  const out: Path[] = [];
  const walk = (o: Obj, at: string[]): void => {
    const fields = Object.entries(o).filter(([k]) => k.startsWith("f:"));
    if (!fields.length) out.push(at);
    for (const [k, c] of fields) walk(isObj(c) ? c : {}, [...at, k.slice(2)]);
  };
  if (isObj(v) && Object.keys(v).length) walk(v, []);
  return out;
}

function readEntries(obj: Obj | undefined): Entry[] {
  const mf = isObj(obj?.metadata) ? obj.metadata.managedFields : undefined;
  if (!Array.isArray(mf)) return [];
  return mf.filter(isObj).map((e) => ({
    manager: String(e.manager ?? ""),
    operation: e.operation === "Apply" ? "Apply" : "Update",
    apiVersion: String(e.apiVersion ?? ""),
    time: String(e.time ?? now()),
    fields: fromFieldsV1(e.fieldsV1),
  }));
}

function writeEntries(entries: readonly Entry[]): Obj[] {
  return entries
    .filter((e) => e.fields.length)
    .map((e) => ({ manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, time: e.time, fieldsType: "FieldsV1", fieldsV1: toFieldsV1(e.fields) }));
}

const printManager = (e: Entry): string => (e.operation === "Update" ? `"${e.manager}" using ${e.apiVersion}` : `"${e.manager}"`);

function conflictError(conflicts: { entry: Entry; path: Path }[]): ApiError {
  const causes = conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with ${printManager(c.entry)}`, field: printPath(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    const [c] = conflicts;
    message = `Apply failed with 1 conflict: conflict with ${c ? printManager(c.entry) : ""}: ${c ? printPath(c.path) : ""}`;
  } else {
    const byManager = new Map<string, Path[]>();
    for (const c of conflicts) byManager.set(printManager(c.entry), [...(byManager.get(printManager(c.entry)) ?? []), c.path]);
    const lines = [...byManager.keys()].sort().flatMap((m) => [`conflicts with ${m}:`, ...(byManager.get(m) ?? []).map((p) => `- ${printPath(p)}`)]);
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApiError(409, "Conflict", message, { causes });
}

/**
 * The object a server-side apply of `config` by `manager` leaves (before status scoping and validation), with its
 * managedFields; throws the API server's 409 on a conflict without force.
 */
export function applyOwned(prev: Obj | undefined, config: Obj, o: { manager: string; force: boolean; apiVersion: string }): Obj {
  const entries = readEntries(prev);
  const mine = entries.find((e) => e.manager === o.manager && e.operation === "Apply");
  const others = entries.filter((e) => e !== mine);
  const wanted = pathsOf(config);

  // Fields this applier owned and no longer names go, unless another manager owns them too.
  const next: Obj = prev ? clone(prev) : {};
  for (const p of mine?.fields ?? []) {
    const stillWanted = wanted.some((w) => overlaps(w, p));
    const ownedElsewhere = others.some((e) => e.fields.some((f) => overlaps(f, p)));
    if (!stillWanted && !ownedElsewhere) removeAt(next, p);
  }
  mergeConfig(next, config);

  // A field another manager owns conflicts when this apply changes its value (removals above never touch those).
  const conflicts: { entry: Entry; path: Path }[] = [];
  for (const e of others) {
    for (const owned of e.fields) {
      if (wanted.some((p) => overlaps(owned, p)) && !same(valueAt(prev, owned), valueAt(next, owned))) conflicts.push({ entry: e, path: owned });
    }
  }
  if (conflicts.length && !o.force) throw conflictError(conflicts);
  // Forced: the fields change hands.
  for (const c of conflicts) c.entry.fields = c.entry.fields.filter((f) => !overlaps(f, c.path));

  const entry: Entry = { manager: o.manager, operation: "Apply", apiVersion: o.apiVersion, time: now(), fields: wanted };
  next.metadata = { ...(isObj(next.metadata) ? next.metadata : {}), managedFields: writeEntries([...others, entry]) };
  return next;
}

/** The managedFields after a non-apply write by `manager`: the fields it changed are its own and no one else's. */
export function updateOwned(prev: Obj | undefined, next: Obj, o: { manager: string; apiVersion: string }): Obj[] {
  const entries = readEntries(prev);
  const before = prev ? pathsOf(prev) : [];
  const after = pathsOf(next);
  const changed = [...after.filter((p) => !same(valueAt(prev, p), valueAt(next, p))), ...before.filter((p) => valueAt(next, p) === undefined)];
  if (!changed.length) return writeEntries(entries);
  for (const e of entries) e.fields = e.fields.filter((f) => !changed.some((c) => overlaps(f, c)));
  let mine = entries.find((e) => e.manager === o.manager && e.operation === "Update");
  if (!mine) entries.push((mine = { manager: o.manager, operation: "Update", apiVersion: o.apiVersion, time: now(), fields: [] }));
  const present = changed.filter((p) => valueAt(next, p) !== undefined);
  mine.fields = [...mine.fields.filter((f) => !present.some((c) => key(c) === key(f))), ...present];
  mine.time = now();
  return writeEntries(entries);
}

/** The apply merge, into `out`: the config's values win, nested objects merge, lists are replaced whole. */
function mergeConfig(out: Obj, config: Obj): void {
  for (const [k, v] of Object.entries(config)) {
    if (v === null) continue;
    const cur = out[k];
    if (isObj(v) && isObj(cur)) mergeConfig(cur, v);
    else out[k] = clone(v);
  }
}
