/**
 * An in-process fake Kubernetes API server for tests (node:http on 127.0.0.1, port 0), following the API conventions.
 *
 *   const kube = await startFakeKube({ validate: crdValidator });   // options are all optional
 *   const kc = kube.kubeconfig;          // a @kubernetes/client-node KubeConfig pointing at it (kube.kubeconfigYaml too)
 *   ... exercise code that uses the client ...
 *   kube.objects({ apiVersion: "batch/v1", kind: "Job" });            // what was created
 *   kube.setStatus({ apiVersion, kind, namespace, name }, status);    // a controller's status update (MODIFIED event)
 *   kube.create(podObject);                                           // a controller's pod (with ownerReferences)
 *   kube.appendLog(namespace, pod, "text\n", container?);  kube.endLog(namespace, pod, container?)
 *   kube.requests                                                     // every call: {method, path, verb, resource, ...}
 *   await kube.close();
 *
 * Paths: core `/api/v1/[namespaces/<ns>/]<plural>[/<name>[/<sub>]]`, groups `/apis/<group>/<version>/...`, discovery at
 * `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>` (built-ins plus every CRD in shared/schemas/crds).
 * Semantics: 201 on create (uid, resourceVersion, generation, creationTimestamp); 409 `Status` AlreadyExists on a
 * duplicate; 404 `Status` NotFound; 422 `Status` Invalid for bad names/labels and for `validate` errors; list with
 * resourceVersion, labelSelector and fieldSelector; watch (`?watch=true`, newline-delimited `{type, object}`, from a
 * resourceVersion, or the current state as ADDED without one; 410 Expired after compact()); PUT/PATCH of the object and
 * its `/status` subresource (each keeps the other's fields); optimistic concurrency (409 Conflict on a stale
 * resourceVersion); merge-patch, JSON patch, strategic merge (as merge); server-side apply (`application/apply-patch+yaml`
 * with `fieldManager`: creates when absent, 422 without fieldManager, field ownership in managedFields, 409 on a
 * conflict without `force`; fields.ts); DELETE with `propagationPolicy`
 * Background/Foreground/Orphan cascading through ownerReferences; `pods/<name>/log` with `container`, `tailLines`,
 * `follow=true` (streams until the pod is Succeeded/Failed/deleted or endLog()); bearer-token check when `token` is set.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { crdErrors, hasCrd } from "../crds.ts";
import { create, parseBody, patch, propagationOf, remove, replace, type Ctx, type Validator } from "./crud.ts";
import { isObj, parseFieldSelector, parseLabelSelector, type Obj } from "./patch.ts";
import { apiVersionOf, ApiError, loadResources, type ResourceInfo } from "./resources.ts";
import { labelsOf, meta, Store, str } from "./store.ts";
import { podLog, watch, type WatchRegistry } from "./stream.ts";
import { discover } from "./discovery.ts";

export type { Validator } from "./crud.ts";
export type { Obj } from "./patch.ts";
export type { ResourceInfo } from "./resources.ts";

export interface FakeKubeOptions {
  /** Extra validation; use `crdValidator` to refuse objects that break the official CRD schemas (422 Invalid). */
  readonly validate?: Validator;
  /** Require `Authorization: Bearer <token>` (401 otherwise). The kubeconfig carries it. */
  readonly token?: string;
  readonly namespace?: string;
  readonly resources?: readonly ResourceInfo[];
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly contentType: string;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection. */
  readonly verb: string;
  readonly group: string;
  /** plural, with `/sub` for subresources (e.g. pods/log, jobs/status). */
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly status: number;
}

export interface FakeKube {
  readonly url: string;
  readonly kubeconfig: KubeConfig;
  readonly kubeconfigYaml: string;
  readonly requests: RecordedRequest[];
  setStatus(ref: ObjectRef, status: Record<string, unknown>): Obj;
  create(obj: Record<string, unknown>): Obj;
  get(ref: ObjectRef): Obj | undefined;
  objects(filter?: { apiVersion?: string; kind?: string; namespace?: string; labelSelector?: string }): Obj[];
  appendLog(namespace: string, pod: string, text: string, container?: string): void;
  endLog(namespace: string, pod: string, container?: string): void;
  /** Close every open watch (as an API server restart would). */
  closeWatches(): void;
  /** Forget history: a watch from an older resourceVersion gets ERROR 410 Expired. */
  compact(): void;
  close(): Promise<void>;
}

/** Validate with the official CRD schemas (test/support/crds.ts); kinds without a CRD pass. */
export const crdValidator: Validator = (obj) => {
  const av = str(obj.apiVersion);
  const kind = str(obj.kind);
  // Built-in groups (v1, batch/v1, apps/v1) have no CRD; skip loading the schema folder for them.
  if (!av.includes(".")) return [];
  return hasCrd(av, kind) ? crdErrors(obj) : [];
};

const VERBS: Record<string, string> = { POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKube> {
  const store = new Store();
  const resources = loadResources(opts.resources);
  const reg: WatchRegistry = { open: new Set(), compactedBelow: 0 };
  const endedLogs = new Set<string>();
  const requests: RecordedRequest[] = [];
  const namespace = opts.namespace ?? "default";

  const find = (group: string, version: string, plural: string): ResourceInfo | undefined =>
    resources.find((r) => r.group === group && r.version === version && r.plural === plural);
  const byKind = (apiVersion: string, kind: string): ResourceInfo => {
    const r = resources.find((x) => apiVersionOf(x) === apiVersion && x.kind === kind);
    if (!r) throw new Error(`fake-kube: unknown kind ${apiVersion}/${kind}`);
    return r;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const rec = { method: req.method ?? "GET", path: url.pathname, query: url.search, contentType: req.headers["content-type"] ?? "" };
      let recorded: Omit<RecordedRequest, "status"> | undefined;
      const reply = (code: number, body: unknown): void => {
        requests.push({ ...(recorded ?? { ...rec, verb: "", group: "", resource: "", namespace: undefined }), status: code });
        if (res.headersSent) return void res.end();
        res.writeHead(code, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      try {
        if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
          throw new ApiError(401, "Unauthorized", "Unauthorized");
        }
        const segs = url.pathname.split("/").filter(Boolean);
        const discovery = discover(segs, resources);
        if (discovery) return reply(200, discovery);
        const route = parseRoute(segs);
        if (!route) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        const r = find(route.group, route.version, route.plural);
        if (!r) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        const ns = r.namespaced ? route.namespace : undefined;
        const method = req.method ?? "GET";
        const isWatch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
        const verb = route.name
          ? (method === "GET" ? "get" : VERBS[method] ?? method.toLowerCase())
          : method === "GET" ? (isWatch ? "watch" : "list") : method === "DELETE" ? "deletecollection" : VERBS[method] ?? method.toLowerCase();
        recorded = { ...rec, verb, group: r.group, resource: route.sub ? `${r.plural}/${route.sub}` : r.plural, namespace: ns };
        if (r.namespaced && route.name && ns === undefined) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        // A write's field manager: ?fieldManager, else the User-Agent's product, as the API server derives it.
        const manager = url.searchParams.get("fieldManager") || String(req.headers["user-agent"] ?? "").split("/")[0] || "unknown";
        const ctx: Ctx = { store, validate: opts.validate, resource: r, namespace: ns ?? "", query: url.searchParams, manager };
        const body = chunks.length ? parseBody(Buffer.concat(chunks).toString("utf8"), rec.contentType) : null;
        if (!route.name) {
          if (method === "GET" && isWatch) {
            requests.push({ ...recorded, status: 200 });
            return watch(store, reg, r, ns, url.searchParams, res);
          }
          if (method === "GET") return reply(200, list(store, r, ns, url.searchParams));
          if (method === "POST") {
            const out = create(ctx, body);
            return reply(out.code, out.body);
          }
          if (method === "DELETE") {
            const items = listItems(store, r, ns, url.searchParams);
            for (const o of items) remove({ ...ctx, namespace: str(meta(o).namespace) }, str(meta(o).name), propagationOf(url.searchParams, body));
            return reply(200, { ...list(store, r, ns, new URLSearchParams()), items });
          }
          throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
        }
        const name = route.name;
        if (route.sub === "log" && r.plural === "pods" && method === "GET") {
          requests.push({ ...recorded, status: 200 });
          return podLog(store, r, ns ?? "", name, url.searchParams, res, endedLogs);
        }
        if (route.sub && route.sub !== "status") throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        if (route.sub === "status" && !r.status) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
        if (method === "GET") return reply(200, store.mustGet(r, ns ?? "", name));
        if (method === "PUT") return reply(200, replace(ctx, name, body, route.sub));
        if (method === "PATCH") {
          const out = patch(ctx, name, body, rec.contentType, route.sub);
          return reply(out.code, out.body);
        }
        if (method === "DELETE") {
          const out = remove(ctx, name, propagationOf(url.searchParams, body));
          return reply(out.code, out.body);
        }
        throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
      } catch (e) {
        if (e instanceof ApiError) return reply(e.code, e.body());
        return reply(500, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: String(e), reason: "InternalError", code: 500 });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
    users: [{ name: "fake", token: opts.token ?? "fake-token" }],
    contexts: [{ name: "fake", cluster: "fake", user: "fake", namespace }],
    currentContext: "fake",
  });

  const refOf = (ref: ObjectRef): { r: ResourceInfo; ns: string } => {
    const r = byKind(ref.apiVersion, ref.kind);
    return { r, ns: r.namespaced ? ref.namespace ?? namespace : "" };
  };

  return {
    url,
    kubeconfig,
    kubeconfigYaml: kubeconfig.exportConfig(),
    requests,
    setStatus(ref, status) {
      const { r, ns } = refOf(ref);
      const prev = store.mustGet(r, ns, ref.name);
      const out = store.update(r, ns, ref.name, { ...prev, status: structuredClone(status) as Obj });
      if (r.plural === "pods") store.notifyLogs();
      return out;
    },
    create(obj) {
      const o = structuredClone(obj) as Obj;
      const r = byKind(str(o.apiVersion), str(o.kind));
      return store.create(r, r.namespaced ? str(meta(o).namespace) || namespace : "", o);
    },
    get(ref) {
      const { r, ns } = refOf(ref);
      return store.get(r, ns, ref.name);
    },
    objects(filter = {}) {
      const r = filter.apiVersion && filter.kind ? byKind(filter.apiVersion, filter.kind) : undefined;
      const sel = parseLabelSelector(filter.labelSelector ?? null);
      return store
        .list(r, filter.namespace)
        .filter((e) => !filter.kind || e.resource.kind === filter.kind)
        .map((e) => e.object)
        .filter((o) => sel(labelsOf(o)));
    },
    appendLog(ns, pod, text, container) {
      store.appendLog(ns, pod, containerOf(store, resources, ns, pod, container), text);
    },
    endLog(ns, pod, container) {
      endedLogs.add(`${ns}/${pod}/${containerOf(store, resources, ns, pod, container)}`);
      store.notifyLogs();
    },
    closeWatches() {
      for (const res of reg.open) res.end();
      reg.open.clear();
    },
    compact() {
      reg.compactedBelow = store.resourceVersion;
      store.history.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of reg.open) res.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function containerOf(store: Store, resources: ResourceInfo[], ns: string, pod: string, container: string | undefined): string {
  if (container) return container;
  const pods = resources.find((r) => r.group === "" && r.plural === "pods");
  const p = pods ? store.get(pods, ns, pod) : undefined;
  const spec = p && isObj(p.spec) ? p.spec : {};
  const first = Array.isArray(spec.containers) ? spec.containers.find(isObj) : undefined;
  return first ? str(first.name) : "";
}

function listItems(store: Store, r: ResourceInfo, ns: string | undefined, q: URLSearchParams): Obj[] {
  const byLabel = parseLabelSelector(q.get("labelSelector"));
  const byField = parseFieldSelector(q.get("fieldSelector"));
  return store
    .list(r, ns)
    .map((e) => e.object)
    .filter((o) => byLabel(labelsOf(o)) && byField(o))
    .sort((a, b) => str(meta(a).name).localeCompare(str(meta(b).name)));
}

function list(store: Store, r: ResourceInfo, ns: string | undefined, q: URLSearchParams): Obj {
  const items = listItems(store, r, ns, q);
  return { apiVersion: apiVersionOf(r), kind: `${r.kind}List`, metadata: { resourceVersion: String(store.resourceVersion) }, items };
}

interface Route {
  group: string;
  version: string;
  namespace: string | undefined;
  plural: string;
  name: string | undefined;
  sub: string | undefined;
}

function parseRoute(segs: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api" && segs[1]) [group, version, rest] = ["", segs[1], segs.slice(2)];
  else if (segs[0] === "apis" && segs[1] && segs[2]) [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  // /namespaces/<ns>/<plural>/... is namespaced; /namespaces[/<name>] is the Namespace resource itself.
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub] = rest;
  if (!plural || rest.length > 3) return undefined;
  return { group, version, namespace, plural, name, sub };
}
