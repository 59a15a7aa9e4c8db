// A shared-informer in miniature: list, then watch from the list's resourceVersion; re-watch when the server ends the
// stream, re-list on 410 Expired (with the diff as events, like client-go's Replace). Handlers run one at a time.
import { isObj, metaOf, nameOf, str, type KubeHttp, type Obj } from "./kube-http.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";
export type Handler = (type: EventType, obj: Obj) => Promise<void> | void;

export interface Informer {
  /** The current objects, by name (what the last list + watch events say). */
  readonly cache: ReadonlyMap<string, Obj>;
  /** Resolves after the first list was handled. */
  readonly synced: Promise<void>;
  stop(): void;
}

export interface InformerOptions {
  readonly path: string;
  readonly labelSelector?: string;
  readonly onError: (message: string) => void;
}

export function inform(http: KubeHttp, o: InformerOptions, handler: Handler): Informer {
  const cache = new Map<string, Obj>();
  const abort = new AbortController();
  let chain: Promise<void> = Promise.resolve();
  // Serialise handlers: a controller sees events in the order the API server sent them.
  const deliver = (type: EventType, obj: Obj): void => {
    chain = chain.then(() => handler(type, obj)).catch((e: unknown) => o.onError(`${o.path} ${type} ${nameOf(obj)}: ${e instanceof Error ? e.message : String(e)}`));
  };
  const sel = o.labelSelector ? `labelSelector=${encodeURIComponent(o.labelSelector)}` : "";
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((r) => (markSynced = r));

  const list = async (): Promise<string> => {
    const body = await http.get(`${o.path}${sel ? `?${sel}` : ""}`);
    const items = Array.isArray(body.items) ? body.items.filter(isObj) : [];
    const seen = new Set<string>();
    for (const item of items) {
      const name = nameOf(item);
      seen.add(name);
      const prev = cache.get(name);
      cache.set(name, item);
      if (!prev) deliver("ADDED", item);
      else if (str(metaOf(prev).resourceVersion) !== str(metaOf(item).resourceVersion)) deliver("MODIFIED", item);
    }
    for (const [name, prev] of [...cache]) {
      if (seen.has(name)) continue;
      cache.delete(name);
      deliver("DELETED", prev);
    }
    return str(metaOf(body).resourceVersion);
  };

  const watch = async (rv: string): Promise<{ rv: string; expired: boolean }> => {
    const q = [sel, "watch=true", `resourceVersion=${encodeURIComponent(rv)}`, "allowWatchBookmarks=true"].filter(Boolean).join("&");
    const res = await http.request("GET", `${o.path}?${q}`, undefined, undefined, abort.signal);
    if (!res.ok || !res.body) throw new Error(`watch ${o.path}: ${res.status}`);
    const decoder = new TextDecoder();
    let buf = "";
    let last = rv;
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev: unknown = JSON.parse(line);
        if (!isObj(ev) || !isObj(ev.object)) continue;
        const type = str(ev.type);
        const obj = ev.object;
        if (type === "ERROR") return { rv: last, expired: obj.code === 410 };
        last = str(metaOf(obj).resourceVersion) || last;
        if (type === "BOOKMARK") continue;
        if (type === "DELETED") cache.delete(nameOf(obj));
        else cache.set(nameOf(obj), obj);
        if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") deliver(type, obj);
      }
    }
    return { rv: last, expired: false };
  };

  void (async () => {
    let rv = "";
    while (!abort.signal.aborted) {
      try {
        if (!rv) {
          rv = await list();
          await chain;
          markSynced();
        }
        const out = await watch(rv);
        rv = out.expired ? "" : out.rv;
      } catch (e) {
        if (abort.signal.aborted) break;
        o.onError(`${o.path}: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();

  return { cache, synced, stop: () => abort.abort() };
}
