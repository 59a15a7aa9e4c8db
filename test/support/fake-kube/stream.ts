// Streaming endpoints of the fake API server: watch (newline-delimited events from a resourceVersion) and pods/log.
import type { ServerResponse } from "node:http";
import { isObj, parseFieldSelector, parseLabelSelector, type Obj } from "./patch.ts";
import { ApiError, statusBody, type ResourceInfo } from "./resources.ts";
import { labelsOf, meta, str, type Store, type StoredEvent } from "./store.ts";

export interface WatchRegistry {
  /** Open watch responses, so the test API can close them (as an API server does on timeout or restart). */
  readonly open: Set<ServerResponse>;
  /** Events at or below this resourceVersion are compacted away: a watch from there gets 410 Expired. */
  compactedBelow: number;
}

export function watch(
  store: Store,
  reg: WatchRegistry,
  r: ResourceInfo,
  ns: string | undefined,
  query: URLSearchParams,
  res: ServerResponse,
): void {
  const byLabel = parseLabelSelector(query.get("labelSelector"));
  const byField = parseFieldSelector(query.get("fieldSelector"));
  const matches = (resource: ResourceInfo, namespace: string, o: Obj): boolean =>
    resource.group === r.group &&
    resource.plural === r.plural &&
    (ns === undefined || namespace === ns) &&
    byLabel(labelsOf(o)) &&
    byField(o);
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  reg.open.add(res);
  const send = (type: string, object: Obj): void => {
    // A watch ended by the server (timeout, closeWatches) stops receiving at once, before its socket closes.
    if (!res.writableEnded) res.write(JSON.stringify({ type, object }) + "\n");
  };
  const from = query.get("resourceVersion");
  if (!from || from === "0") {
    // No resourceVersion: the current state first, as synthetic ADDED events.
    for (const e of store.list(r, ns)) if (matches(e.resource, str(meta(e.object).namespace), e.object)) send("ADDED", e.object);
  } else {
    const rv = Number(from);
    if (!Number.isFinite(rv) || rv < reg.compactedBelow) {
      send("ERROR", statusBody(410, "Expired", `too old resource version: ${from} (${reg.compactedBelow})`) as Obj);
      reg.open.delete(res);
      res.end();
      return;
    }
    for (const e of store.history) if (e.rv > rv && matches(e.resource, e.namespace, e.object)) send(e.type, e.object);
  }
  const unsubscribe = store.subscribe((e: StoredEvent) => {
    if (matches(e.resource, e.namespace, e.object)) send(e.type, e.object);
  });
  const timeout = Number(query.get("timeoutSeconds") ?? "0");
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
  res.on("close", () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
    reg.open.delete(res);
  });
}

const TERMINAL_PHASES = new Set(["Succeeded", "Failed"]);

/** GET pods/{name}/log: container resolution and errors as the kubelet/API server gives them; follow streams until the pod ends. */
export function podLog(
  store: Store,
  pods: ResourceInfo,
  ns: string,
  name: string,
  query: URLSearchParams,
  res: ServerResponse,
  endedLogs: Set<string>,
): void {
  const pod = store.mustGet(pods, ns, name);
  const spec = isObj(pod.spec) ? pod.spec : {};
  const containers = Array.isArray(spec.containers) ? spec.containers.filter(isObj).map((c) => str(c.name)) : [];
  let container = query.get("container") ?? "";
  if (!container) {
    if (containers.length > 1) {
      throw new ApiError(400, "BadRequest", `a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]`);
    }
    container = containers[0] ?? "";
  } else if (containers.length && !containers.includes(container)) {
    throw new ApiError(400, "BadRequest", `container ${container} is not valid for pod ${name}`);
  }
  const status = isObj(pod.status) ? pod.status : {};
  const statuses = Array.isArray(status.containerStatuses) ? status.containerStatuses.filter(isObj) : [];
  const cs = statuses.find((s) => s.name === container);
  const state = cs && isObj(cs.state) ? cs.state : {};
  if (isObj(state.waiting)) {
    throw new ApiError(400, "BadRequest", `container "${container}" in pod "${name}" is waiting to start: ${str(state.waiting.reason) || "ContainerCreating"}`);
  }
  const key = `${ns}/${name}`;
  const current = (): string => store.logs.get(key)?.get(container) ?? "";
  const tail = Number(query.get("tailLines") ?? "0");
  let text = current();
  if (tail > 0) {
    const lines = text.split("\n");
    const trailing = lines.at(-1) === "" ? lines.pop() : undefined;
    text = lines.slice(-tail).join("\n") + (trailing === "" ? "\n" : "");
  }
  res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
  res.write(text);
  let sent = current().length;
  const done = (): boolean => {
    const p = store.get(pods, ns, name);
    const phase = p && isObj(p.status) ? str(p.status.phase) : "";
    return !p || TERMINAL_PHASES.has(phase) || endedLogs.has(`${key}/${container}`);
  };
  if (query.get("follow") !== "true" || done()) {
    res.end();
    return;
  }
  const off = store.onLogChange(() => {
    if (res.writableEnded) return;
    const all = current();
    if (all.length > sent) {
      res.write(all.slice(sent));
      sent = all.length;
    }
    if (done()) res.end();
  });
  // A status change (pod finished) also ends a follow.
  const unsubscribe = store.subscribe((e) => {
    if (!res.writableEnded && e.resource.plural === "pods" && e.namespace === ns && str(meta(e.object).name) === name && done()) res.end();
  });
  res.on("close", () => {
    off();
    unsubscribe();
  });
}
