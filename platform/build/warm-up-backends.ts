// The build's warm-up only: stand-ins on 127.0.0.1 for every backend a function's start and first request reach (an
// empty MLflow, a broker that accepts, a Kubernetes API server that finds nothing, an empty PostgreSQL), the config
// that points a function at them, and each function's first request, so the code cache holds that request's code.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { FunctionTarget } from "../knative/targets.ts";
import { startWarmUpPostgres } from "./warm-up-postgres.ts";

export type WarmUpRequest = readonly [path: string, init: RequestInit];

export interface WarmUpBackends {
  /** Environment for the function: Knative mode against the stand-ins. */
  readonly env: Readonly<Record<string, string>>;
  /** The function's first requests, in order. */
  requests(target: string): readonly WarmUpRequest[];
  close(): Promise<void>;
}

const NAMESPACE = "flywheel";

/**
 * An API server with no objects: a collection lists empty, a watch stays open with no event, an object is NotFound.
 * Paths: /api/v1/[namespaces/<ns>/]<plural>[/<name>...] and /apis/<group>/<version>/[namespaces/<ns>/]<plural>[/...].
 */
function kube(method: string, url: URL, res: http.ServerResponse): void {
  const parts = url.pathname.split("/").filter(Boolean);
  const rest = parts.slice(parts[0] === "api" ? 2 : 3);
  const resource = rest[0] === "namespaces" && rest.length > 2 ? rest.slice(2) : rest;
  const json = { "content-type": "application/json" };
  if (method === "GET" && resource.length === 1) {
    if (url.searchParams.get("watch") === "true") res.writeHead(200, json).flushHeaders();
    else res.writeHead(200, json).end(JSON.stringify({ kind: "List", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: [] }));
    return;
  }
  const status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `${url.pathname} not found`, reason: "NotFound", code: 404 };
  res.writeHead(404, json).end(JSON.stringify(status));
}

/**
 * One HTTP server for the rest: Kubernetes paths (kube above); MLflow answers `{}` (an empty search: MLflow leaves out empty fields); anything else (the broker) 202.
 */
function stubServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const url = req.url ?? "/";
      if (url.startsWith("/api/2.0/mlflow/") || url.startsWith("/ajax-api/")) res.writeHead(200, { "content-type": "application/json" }).end("{}");
      else if (url.startsWith("/api/") || url.startsWith("/apis/")) kube(req.method ?? "GET", new URL(url, "http://stub"), res);
      else res.writeHead(202).end();
    });
  });
  return new Promise((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", () => resolve(server)));
}

function kubeconfig(server: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    // Plain HTTP: client-node (and kube-rest after it) only accept that with TLS verification explicitly off.
    clusters: [{ name: "warm-up", cluster: { server, "insecure-skip-tls-verify": true } }],
    users: [{ name: "warm-up", user: { token: "warm-up" } }],
    contexts: [{ name: "warm-up", context: { cluster: "warm-up", user: "warm-up", namespace: NAMESPACE } }],
    "current-context": "warm-up",
  });
}

/** Starts the stand-ins; `dir` (a temp dir the caller removes) gets the kubeconfig. */
export async function startWarmUpBackends(dir: string): Promise<WarmUpBackends> {
  const [pg, stub] = await Promise.all([startWarmUpPostgres(), stubServer()]);
  const address = stub.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const kubeFile = path.join(dir, "kubeconfig");
  fs.writeFileSync(kubeFile, kubeconfig(url), { mode: 0o600 });
  // Fresh per warm-up: nothing here is a secret, and none is written into the image.
  const token = crypto.randomBytes(16).toString("hex");
  const auth = { authorization: `Bearer ${token}` };
  const json = { "content-type": "application/json" };
  const ce = { ...json, "ce-specversion": "1.0", "ce-id": "warm-up-1", "ce-source": "/build", "ce-type": "dev.flywheel.build.warm-up" };
  const generic: WarmUpRequest[] = [["/", { method: "GET", headers: auth }], ["/", { method: "POST", headers: ce, body: "{}" }]];
  // What each function's first request is (bench/coldstart's probes): a resolved alert, a V2 inference, a signed-in page.
  const first: Partial<Record<FunctionTarget, WarmUpRequest>> = {
    alertmanagerTrigger: ["/", { method: "POST", headers: { ...json, ...auth }, body: JSON.stringify({ version: "4", groupKey: "g", truncatedAlerts: 0, status: "resolved", receiver: "flywheel", groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: "http://am", alerts: [] }) }],
    infer: ["/iris", { method: "POST", headers: json, body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }) }],
  };
  return {
    env: {
      MLFLOW_TRACKING_URI: url,
      FLYWHEEL_BROKER_URL: `${url}/broker`,
      FLYWHEEL_DATABASE_URL: pg.url,
      FLYWHEEL_SESSION_KEY: crypto.randomBytes(24).toString("hex"),
      FLYWHEEL_AUTH_TOKEN: token,
      FLYWHEEL_ALERTMANAGER_TOKEN: token,
      KUBECONFIG: kubeFile,
      FLYWHEEL_NAMESPACE: NAMESPACE,
      FLYWHEEL_SERVING_BACKEND: "kserve",
      FLYWHEEL_TRAINING_BACKEND: "kubernetes",
    },
    requests: (target) => {
      const own = first[target as FunctionTarget];
      return own ? [own, ...generic] : generic;
    },
    close: async () => {
      stub.closeAllConnections();
      await Promise.all([pg.close(), new Promise((resolve) => stub.close(resolve))]);
    },
  };
}
