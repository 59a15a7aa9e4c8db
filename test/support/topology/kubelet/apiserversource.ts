// Knative's ApiServerSource receive adapter (knative/eventing pkg/adapter/apiserver): an informer per resource, and
// per add/update/delete one CloudEvent to the sink, in binary mode: type dev.knative.apiserver.{resource|ref}.<op>,
// source = the API server's URL, subject = the object's self link, extensions kind/name/namespace, data = the object
// (mode Resource) or an ObjectReference (mode Reference). As upstream, a failed send is logged, not retried.
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
}

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
    let status = 0;
    try {
      const res = await fetch(sinkUrl, { method: "POST", headers: Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v)])), body: JSON.stringify(data) });
      status = res.status;
      await res.arrayBuffer();
    } catch (e) {
      onError(`ApiServerSource ${nameOf(source)}: send to ${sinkUrl} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (status >= 300) onError(`ApiServerSource ${nameOf(source)}: sink answered ${status} for ${ce.type} ${ce.subject}`);
    record({ source: ce.source, type: ce.type, subject: ce.subject ?? "", id: ce.id, status });
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
  return informers;
}
