// Knative's ApiServerSource receive adapter (knative/eventing pkg/adapter/apiserver): an informer per resource, and
// per add/update/delete one CloudEvent to the sink, in binary mode: type dev.knative.apiserver.{resource|ref}.<op>,
// source = the API server's URL, subject = the object's self link, extensions kind/name/namespace, data = the object
// (mode Resource) or an ObjectReference (mode Reference). As upstream, a failed send is retried with exponential
// backoff (SEND_RETRIES), then logged and dropped: the CRD has no delivery field, so this is all the retry the hop has.
import { randomUUID } from "node:crypto";
import { CloudEvent, HTTP } from "cloudevents";
import { inform, type EventType, type Informer } from "./informer.ts";
import { arrAt, isObj, nameOf, nsOf, objAt, selectorString, str, type KubeHttp, type Obj } from "./kube-http.ts";

export interface Emitted {
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly id: string;
  readonly status: number;
  /** Sends made for it: 1, or up to 1 + SEND_RETRIES when the sink failed in a way upstream retries. */
  readonly attempts: number;
}

/**
 * The adapter's send context (knative/eventing pkg/adapter/apiserver/events/events.go):
 * cloudevents.ContextWithRetriesExponentialBackoff(ctx, 50ms, 5). In cloudevents sdk-go (v2/protocol/http/
 * protocol_retry.go, v2/context/retry.go) that means up to 5 retries, the n-th after 50 ms * 2^n (100 ms .. 1.6 s),
 * on a connection error or one of the protocol's retriable codes; any other answer (500 too) ends the send.
 */
export const SEND_RETRIES = 5;
export const SEND_BACKOFF_MS = 50;
/** sdk-go v2/protocol/http/protocol.go defaultRetriableErrors. */
export const RETRIABLE_STATUS: ReadonlySet<number> = new Set([404, 413, 425, 429, 502, 503, 504]);

const OP: Record<EventType, string> = { ADDED: "add", MODIFIED: "update", DELETED: "delete" };

/** upstream createSelfLink: /apis/<apiVersion>/namespaces/<ns>/<lowercased kind>s/<name> (also for core kinds). */
export const selfLink = (o: Obj): string => `/apis/${str(o.apiVersion)}/namespaces/${nsOf(o)}/${str(o.kind).toLowerCase()}s/${nameOf(o)}`;

async function pluralOf(http: KubeHttp, apiVersion: string, kind: string): Promise<string> {
  const doc = await http.get(apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
  const r = arrAt(doc, "resources").find((x) => x.kind === kind && !str(x.name).includes("/"));
  if (!r) throw new Error(`ApiServerSource: the API server does not serve ${kind} in ${apiVersion}`);
  return str(r.name);
}

export async function startApiServerSource(
  http: KubeHttp,
  source: Obj,
  sinkUrl: string,
  record: (e: Emitted) => void,
  onError: (message: string) => void,
): Promise<Informer[]> {
  const spec = objAt(source, "spec");
  const ns = nsOf(source) || "default";
  const reference = str(spec.mode) !== "Resource";
  const prefix = reference ? "dev.knative.apiserver.ref." : "dev.knative.apiserver.resource.";
  let chain: Promise<void> = Promise.resolve();
  // Stopping the source ends a backoff wait, as the adapter's cancelled context does.
  const stopped = new AbortController();
  const send = async (type: EventType, obj: Obj): Promise<void> => {
    const data = reference ? { apiVersion: str(obj.apiVersion), kind: str(obj.kind), name: nameOf(obj), namespace: nsOf(obj) } : obj;
    const ce = new CloudEvent({
      specversion: "1.0",
      id: randomUUID(),
      type: prefix + OP[type],
      source: http.url,
      subject: selfLink(obj),
      datacontenttype: "application/json",
      kind: str(obj.kind),
      name: nameOf(obj),
      namespace: nsOf(obj),
      data,
    });
    const msg = HTTP.binary(ce);
    const headers = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v)]));
    const body = JSON.stringify(data);
    let failure = "";
    const post = async (): Promise<number> => {
      try {
        const res = await fetch(sinkUrl, { method: "POST", headers, body });
        await res.arrayBuffer();
        return res.status;
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
        return 0;
      }
    };
    let attempts = 0;
    let status: number;
    for (;;) {
      attempts++;
      status = await post();
      if (status >= 200 && status < 300) break;
      if ((status !== 0 && !RETRIABLE_STATUS.has(status)) || attempts > SEND_RETRIES || stopped.signal.aborted) break;
      await delay(SEND_BACKOFF_MS * 2 ** attempts, stopped.signal);
    }
    if (status === 0) onError(`ApiServerSource ${nameOf(source)}: send to ${sinkUrl} failed after ${attempts} attempt(s): ${failure}`);
    else if (status >= 300) onError(`ApiServerSource ${nameOf(source)}: sink answered ${status} for ${ce.type} ${ce.subject} after ${attempts} attempt(s)`);
    record({ source: ce.source, type: ce.type, subject: ce.subject ?? "", id: ce.id, status, attempts });
  };
  const informers: Informer[] = [];
  for (const r of arrAt(spec, "resources")) {
    const apiVersion = str(r.apiVersion);
    const kind = str(r.kind);
    const plural = await pluralOf(http, apiVersion, kind);
    const path = `${apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`}/namespaces/${ns}/${plural}`;
    const sel = isObj(r.selector) ? selectorString(r.selector) : "";
    informers.push(
      inform(http, { path, ...(sel ? { labelSelector: sel } : {}), onError }, (type, obj) => {
        // Watch events carry apiVersion/kind; keep them even if a list item lacks them.
        const full = { ...obj, apiVersion: str(obj.apiVersion) || apiVersion, kind: str(obj.kind) || kind };
        chain = chain.then(() => send(type, full));
      }),
    );
  }
  await Promise.all(informers.map((i) => i.synced));
  return informers.map((i) => ({ cache: i.cache, synced: i.synced, stop: () => (stopped.abort(), i.stop()) }));
}

/** Resolves after ms, or at once when the signal fires. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
