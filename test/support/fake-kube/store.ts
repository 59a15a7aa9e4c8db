// The fake API server's object store: one resourceVersion counter, an event history for watches, owner cascades, logs.
import { randomUUID } from "node:crypto";
import { clone, isObj, type Json, type Obj } from "./patch.ts";
import { alreadyExists, notFound, type ResourceInfo } from "./resources.ts";

export type WatchType = "ADDED" | "MODIFIED" | "DELETED";
export interface StoredEvent {
  readonly rv: number;
  readonly type: WatchType;
  readonly resource: ResourceInfo;
  readonly namespace: string;
  readonly object: Obj;
}

export const meta = (o: Obj): Obj => {
  if (!isObj(o.metadata)) o.metadata = {};
  return isObj(o.metadata) ? o.metadata : {};
};
export const str = (v: Json | undefined): string => (typeof v === "string" ? v : "");
export const labelsOf = (o: Obj): Record<string, string> => {
  const l = meta(o).labels;
  return isObj(l) ? Object.fromEntries(Object.entries(l).map(([k, v]) => [k, str(v)])) : {};
};

const keyOf = (r: ResourceInfo, ns: string, name: string): string => `${r.group}|${r.plural}|${ns}|${name}`;

export class Store {
  private rv = 1;
  private readonly objects = new Map<string, { resource: ResourceInfo; object: Obj }>();
  readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<(e: StoredEvent) => void>();
  /** pod key (ns/name) -> container -> text; `ended` marks logs that will receive no more lines. */
  readonly logs = new Map<string, Map<string, string>>();
  private readonly logListeners = new Set<() => void>();

  get resourceVersion(): number {
    return this.rv;
  }

  private record(type: WatchType, resource: ResourceInfo, namespace: string, object: Obj): void {
    const e: StoredEvent = { rv: this.rv, type, resource, namespace, object: clone(object) };
    this.history.push(e);
    for (const l of this.listeners) l(e);
  }

  subscribe(l: (e: StoredEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get(r: ResourceInfo, ns: string, name: string): Obj | undefined {
    const hit = this.objects.get(keyOf(r, ns, name));
    return hit ? clone(hit.object) : undefined;
  }

  mustGet(r: ResourceInfo, ns: string, name: string): Obj {
    const o = this.get(r, ns, name);
    if (!o) throw notFound(r, name);
    return o;
  }

  list(r: ResourceInfo | undefined, ns: string | undefined): { resource: ResourceInfo; object: Obj }[] {
    return [...this.objects.values()]
      .filter((e) => !r || (e.resource.group === r.group && e.resource.plural === r.plural))
      .filter((e) => ns === undefined || str(meta(e.object).namespace) === ns)
      .map((e) => ({ resource: e.resource, object: clone(e.object) }));
  }

  create(r: ResourceInfo, ns: string, obj: Obj): Obj {
    const m = meta(obj);
    const name = str(m.name);
    const key = keyOf(r, ns, name);
    if (this.objects.has(key)) throw alreadyExists(r, name);
    this.rv++;
    const stored: Obj = {
      ...clone(obj),
      apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
      kind: r.kind,
      metadata: {
        ...clone(m),
        ...(r.namespaced ? { namespace: ns } : {}),
        uid: randomUUID(),
        resourceVersion: String(this.rv),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      },
    };
    this.objects.set(key, { resource: r, object: stored });
    this.record("ADDED", r, ns, stored);
    return clone(stored);
  }

  /** Replace an existing object; `object` already carries the merged metadata. Bumps generation on spec change. */
  update(r: ResourceInfo, ns: string, name: string, next: Obj): Obj {
    const key = keyOf(r, ns, name);
    const prev = this.objects.get(key);
    if (!prev) throw notFound(r, name);
    this.rv++;
    const pm = meta(prev.object);
    const nm = meta(next);
    const specChanged = JSON.stringify(prev.object.spec ?? null) !== JSON.stringify(next.spec ?? null);
    const stored: Obj = {
      ...next,
      apiVersion: prev.object.apiVersion ?? null,
      kind: prev.object.kind ?? null,
      metadata: {
        ...nm,
        name,
        ...(r.namespaced ? { namespace: ns } : {}),
        uid: pm.uid ?? null,
        creationTimestamp: pm.creationTimestamp ?? null,
        resourceVersion: String(this.rv),
        generation: (typeof pm.generation === "number" ? pm.generation : 1) + (specChanged ? 1 : 0),
      },
    };
    this.objects.set(key, { resource: r, object: stored });
    this.record("MODIFIED", r, ns, stored);
    return clone(stored);
  }

  remove(r: ResourceInfo, ns: string, name: string): Obj {
    const key = keyOf(r, ns, name);
    const prev = this.objects.get(key);
    if (!prev) throw notFound(r, name);
    this.objects.delete(key);
    this.rv++;
    const gone: Obj = { ...prev.object, metadata: { ...meta(prev.object), resourceVersion: String(this.rv) } };
    this.record("DELETED", r, ns, gone);
    if (r.plural === "pods" && r.group === "") this.notifyLogs();
    return clone(gone);
  }

  /** Objects whose ownerReferences name this uid (what the garbage collector would delete). */
  dependents(uid: string): { resource: ResourceInfo; object: Obj }[] {
    return [...this.objects.values()]
      .filter((e) => {
        const refs = meta(e.object).ownerReferences;
        return Array.isArray(refs) && refs.some((ref) => isObj(ref) && ref.uid === uid);
      })
      .map((e) => ({ resource: e.resource, object: clone(e.object) }));
  }

  appendLog(ns: string, pod: string, container: string, text: string): void {
    const key = `${ns}/${pod}`;
    const byContainer = this.logs.get(key) ?? new Map<string, string>();
    byContainer.set(container, (byContainer.get(container) ?? "") + text);
    this.logs.set(key, byContainer);
    this.notifyLogs();
  }

  notifyLogs(): void {
    for (const l of this.logListeners) l();
  }

  onLogChange(l: () => void): () => void {
    this.logListeners.add(l);
    return () => this.logListeners.delete(l);
  }
}
