// A small read-only Kubernetes REST client (GET, watch) for what functions read before their first answer: infer's
// InferenceService, the UI's training lists and watches and Knative Services. @kubernetes/client-node (1.6 MB of JS,
// about 180 ms of CPU to load) doubled infer's cold start for two GETs. It reads the same credentials as client-node's KubeConfig, and
// only where it can do so exactly: in-cluster, or one kubeconfig file whose context uses a bearer token and/or client
// certificate. Any other configuration (exec or auth-provider plugins, proxies, basic auth, impersonation, merged
// kubeconfigs) gets no RestReader, and the caller keeps using client-node.
import fs from "node:fs";
import http, { STATUS_CODES } from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import { kubeconfigFiles } from "../training/kubernetes/kubeconfig-files.ts";

/** The ServiceAccount files client-node's loadFromCluster reads (prefix for tests). */
export const SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** A non-2xx answer, shaped as client-node's ApiException (code, body, headers) so toPlatformError maps it the same. */
export class KubeApiError extends Error {
  override name = "ApiException";
  constructor(
    readonly code: number,
    readonly body: unknown,
    readonly headers: Record<string, string | string[] | undefined>,
  ) {
    super(`HTTP-Code: ${code}`);
  }
}

export interface KubeRestItem {
  readonly [key: string]: unknown;
}

/** GETs and watches on API paths, with the credentials of the kubeconfig (or the pod). */
export interface KubeRest {
  /** GET and parse JSON; a non-2xx answer is a KubeApiError. */
  get(pathAndQuery: string): Promise<unknown>;
  /**
   * client-node's Watch.watch: GET `path?watch=true&...`, `onEvent(type, object)` per line, `done(err)` once when the
   * stream ends or fails (a non-200 answer is an error with `statusCode`). abort() ends it.
   */
  watch(path: string, query: Readonly<Record<string, string | boolean>>, onEvent: (type: string, object: unknown) => void, done: (err: unknown) => void): { abort(): void };
}

export interface RestReader {
  /** GET one namespaced object (client-node KubernetesObjectApi.read); a 404 is a KubeApiError with code 404. */
  read(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeRestItem>;
  /** GET a namespaced collection filtered by a label selector (KubernetesObjectApi.list). */
  list(apiVersion: string, kind: string, namespace: string, labelSelector: string): Promise<{ items: KubeRestItem[] }>;
}

/** Custom resources only: for built-in kinds client-node turns fields into typed models (dates), which we don't mimic. */
export const isCustomResource = (apiVersion: string): boolean => {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] ?? "" : "";
  return group.includes(".") && !group.endsWith(".k8s.io");
};

interface Endpoint {
  readonly server: URL;
  readonly agent: http.Agent;
  readonly authorization: () => string | undefined;
}

interface Options {
  readonly env: Record<string, string | undefined>;
  readonly serviceAccountDir?: string;
  readonly exists?: (file: string) => boolean;
}

/**
 * The reader for the credentials loadKubeConfig (training/kubernetes/client.ts) would pick, or undefined when they are
 * not ones this client reproduces exactly. Reads and parses the kubeconfig; loads no Kubernetes client.
 */
export async function kubeRest(opts: Options): Promise<KubeRest | undefined> {
  try {
    const ep = await endpointOf(opts);
    return ep ? { get: (p) => get(ep, p), watch: (p, q, onEvent, done) => watch(ep, p, q, onEvent, done) } : undefined;
  } catch {
    // A kubeconfig or ServiceAccount file it cannot read: client-node reads it again and reports the problem as before.
    return undefined;
  }
}

/** Reads of namespaced objects by apiVersion and kind (KubernetesObjectApi's read and list), over kubeRest. */
export async function restReader(opts: Options): Promise<RestReader | undefined> {
  const rest = await kubeRest(opts);
  return rest ? reader(rest) : undefined;
}

async function endpointOf({ env, serviceAccountDir = SERVICEACCOUNT_DIR, exists = fs.existsSync }: Options): Promise<Endpoint | undefined> {
  const tokenFile = path.join(serviceAccountDir, "token");
  if (env.KUBERNETES_SERVICE_HOST && exists(tokenFile)) return inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, serviceAccountDir);
  // Several files are merged: left to client-node.
  const files = kubeconfigFiles(env, exists);
  const file = files.length === 1 ? files[0] : undefined;
  if (!file) return undefined;
  return fromKubeconfig(file, (await import("../yaml.ts")).parseYaml(fs.readFileSync(file, "utf8")));
}

/** loadFromCluster: the Service host and port, the ServiceAccount CA, its token re-read every 60 s (it rotates). */
function inCluster(host: string, port: string | undefined, dir: string): Endpoint {
  const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
  const server = new URL(`${scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${port ?? ""}`);
  let token: { value: string; at: number } | undefined;
  const authorization = (): string => {
    if (!token || Date.now() - token.at > 60_000) token = { value: fs.readFileSync(path.join(dir, "token"), "utf8"), at: Date.now() };
    return `Bearer ${token.value}`;
  };
  const agent = scheme === "https" ? new https.Agent({ ca: fs.readFileSync(path.join(dir, "ca.crt")) }) : new http.Agent();
  return { server, agent, authorization };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const named = (list: unknown, name: unknown, key: string): Record<string, unknown> | undefined => {
  if (!Array.isArray(list)) return undefined;
  const entry: unknown = list.find((e: unknown) => isRecord(e) && e.name === name);
  return isRecord(entry) && isRecord(entry[key]) ? entry[key] : undefined;
};

/** Fields of a kubeconfig user or cluster that need behaviour this client does not have. */
const UNSUPPORTED_USER = ["exec", "auth-provider", "username", "password", "as", "as-groups", "as-uid", "as-user-extra"];
const UNSUPPORTED_CLUSTER = ["proxy-url"];

function fromKubeconfig(file: string, config: unknown): Endpoint | undefined {
  if (!isRecord(config)) return undefined;
  const context = named(config.contexts, config["current-context"], "context");
  const cluster = context && named(config.clusters, context.cluster, "cluster");
  const user = context && named(config.users, context.user, "user");
  const server = cluster && str(cluster.server);
  // client-node applies no TLS options at all without a user: left to it.
  if (!server || !user || !cluster) return undefined;
  if (UNSUPPORTED_USER.some((k) => k in user) || UNSUPPORTED_CLUSTER.some((k) => k in cluster)) return undefined;
  const url = new URL(server.replace(/\/$/, ""));
  const skipTLSVerify = cluster["insecure-skip-tls-verify"] === true;
  // client-node refuses plain HTTP unless TLS verification is explicitly skipped; it says so itself.
  if (url.protocol === "http:" && !skipTLSVerify) return undefined;
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  const dir = path.dirname(file);
  const bytes = (fileKey: string, dataKey: string, from: Record<string, unknown>): Buffer | undefined => {
    const f = str(from[fileKey]);
    if (f) return fs.readFileSync(path.isAbsolute(f) ? f : path.join(dir, f));
    const d = str(from[dataKey]);
    return d ? Buffer.from(d, "base64") : undefined;
  };
  const tokenFile = str(user["token-file"]);
  const token = str(user.token) ?? (tokenFile ? fs.readFileSync(tokenFile, "utf8") : undefined);
  const tls: https.AgentOptions = {};
  const ca = bytes("certificate-authority", "certificate-authority-data", cluster);
  const cert = bytes("client-certificate", "client-certificate-data", user);
  const key = bytes("client-key", "client-key-data", user);
  const servername = str(cluster["tls-server-name"]);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (skipTLSVerify) tls.rejectUnauthorized = false;
  if (servername) tls.servername = servername;
  const agent = url.protocol === "https:" ? new https.Agent(tls) : new http.Agent();
  return { server: url, agent, authorization: () => (token ? `Bearer ${token}` : undefined) };
}

function request(ep: Endpoint, pathAndQuery: string, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
  const url = new URL(ep.server.pathname.replace(/\/$/, "") + pathAndQuery, ep.server);
  const auth = ep.authorization();
  const headers: Record<string, string> = { accept: "application/json, */*;q=0.8", ...(auth ? { authorization: auth } : {}) };
  return (url.protocol === "https:" ? https.request : http.request)(url, { method: "GET", headers, agent: ep.agent }, onResponse);
}

function watch(ep: Endpoint, path: string, query: Readonly<Record<string, string | boolean>>, onEvent: (type: string, object: unknown) => void, done: (err: unknown) => void): { abort(): void } {
  const params = new URLSearchParams({ watch: "true" });
  for (const [k, v] of Object.entries(query)) params.set(k, String(v));
  let finished = false;
  const finish = (err: unknown): void => {
    if (finished) return;
    finished = true;
    req.destroy();
    done(err);
  };
  const req = request(ep, `${path}?${params.toString()}`, (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      return finish(Object.assign(new Error(res.statusMessage || STATUS_CODES[res.statusCode ?? 500] || "Internal Server Error"), { statusCode: res.statusCode }));
    }
    let buffered = "";
    const line = (text: string): void => {
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch {
        return; // as client-node: a line that is not JSON is skipped
      }
      if (isRecord(event) && typeof event.type === "string") onEvent(event.type, event.object);
    };
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        line(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    res.on("end", () => line(buffered));
    res.on("error", finish);
    res.on("close", () => finish(null));
  });
  // A watch can stay quiet for minutes: TCP keep-alive finds a dead peer (client-node sets the same 30 s).
  req.on("socket", (socket) => socket.setKeepAlive(true, 30_000));
  req.on("error", finish);
  req.end();
  return { abort: () => finish(null) };
}

function get(ep: Endpoint, pathAndQuery: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(ep, pathAndQuery, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const status = res.statusCode ?? 0;
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // A non-JSON body (a proxy's HTML error page) stays text, as in client-node's getBodyAsAny.
          if (status >= 200 && status < 300) return reject(new Error(`Kubernetes answered ${status} with a body that is not JSON`));
        }
        if (status >= 200 && status < 300) resolve(body);
        else reject(new KubeApiError(status, body, res.headers));
      });
    });
    req.on("error", reject);
    req.end();
  });
}

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

function reader(rest: KubeRest): RestReader {
  const discovered = new Map<string, readonly ApiResource[]>();
  const apiPath = (apiVersion: string): string => `/${apiVersion.includes("/") ? "apis" : "api"}/${apiVersion}`;
  // KubernetesObjectApi.resource: discovery per apiVersion, cached, asked again when the kind is not in the cache.
  const resource = async (apiVersion: string, kind: string): Promise<ApiResource> => {
    let found = discovered.get(apiVersion)?.find((r) => r.kind === kind);
    if (!found) {
      const list = await rest.get(apiPath(apiVersion));
      const resources = isRecord(list) && Array.isArray(list.resources) ? list.resources.filter(isApiResource) : [];
      discovered.set(apiVersion, resources);
      found = resources.find((r) => r.kind === kind);
    }
    if (!found) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${kind}`);
    return found;
  };
  // specUriPath: the whole path is lower-cased, as client-node does.
  const uri = async (apiVersion: string, kind: string, namespace: string, name?: string): Promise<string> => {
    const r = await resource(apiVersion, kind);
    const parts = [apiPath(apiVersion), ...(r.namespaced && namespace ? ["namespaces", encodeURIComponent(namespace)] : []), r.name];
    if (name !== undefined) parts.push(encodeURIComponent(name));
    return parts.join("/").toLowerCase();
  };
  return {
    async read(apiVersion, kind, namespace, name) {
      const obj = await rest.get(await uri(apiVersion, kind, namespace, name));
      if (!isRecord(obj)) throw new Error(`Kubernetes answered a ${kind} that is not an object`);
      return withMetadataDates(obj);
    },
    async list(apiVersion, kind, namespace, labelSelector) {
      const list = await rest.get(`${await uri(apiVersion, kind, namespace)}?${new URLSearchParams({ labelSelector }).toString()}`);
      const items = isRecord(list) && Array.isArray(list.items) ? list.items.filter(isRecord) : [];
      return { items };
    },
  };
}

/**
 * client-node deserialises a read object's metadata as V1ObjectMeta, so its timestamps are Dates (KubeObj's type says
 * so); a list's items it leaves as the JSON had them, and so does list() here.
 */
function withMetadataDates(obj: Record<string, unknown>): Record<string, unknown> {
  const md = obj.metadata;
  if (!isRecord(md)) return obj;
  const date = (v: unknown): unknown => (typeof v === "string" ? new Date(v) : v);
  const metadata: Record<string, unknown> = { ...md };
  for (const k of ["creationTimestamp", "deletionTimestamp"]) if (k in md) metadata[k] = date(md[k]);
  if (Array.isArray(md.managedFields)) metadata.managedFields = md.managedFields.map((f: unknown) => (isRecord(f) && "time" in f ? { ...f, time: date(f.time) } : f));
  return { ...obj, metadata };
}

function isApiResource(v: unknown): v is ApiResource {
  return isRecord(v) && typeof v.name === "string" && typeof v.kind === "string" && typeof v.namespaced === "boolean";
}
