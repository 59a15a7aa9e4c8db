// The build's warm-up only: stand-ins on 127.0.0.1 for every backend a function's start and first request reach (an
// empty MLflow, a broker that accepts, a Kubernetes API server with one InferenceService and the V2 server it points at,
// an empty PostgreSQL), the config that points a function at them, and each function's first request, so the code
// cache holds that request's code.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { FunctionTarget } from "../knative/targets.ts";
import { DEPLOYMENT, kube, NAMESPACE, v2 } from "./warm-up-kube.ts";
import { startWarmUpPostgres } from "./warm-up-postgres.ts";

export type WarmUpRequest = readonly [path: string, init: RequestInit];

export interface WarmUpBackends {
  /** Environment for the function: Knative mode against the stand-ins. */
  readonly env: Readonly<Record<string, string>>;
  /** The function's first requests, in order. */
  requests(target: string): readonly WarmUpRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (a free port) answering each whole request with `answer`. */
function listen(answer: (method: string, url: URL, body: string, res: http.ServerResponse) => void): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => answer(req.method ?? "GET", new URL(req.url ?? "/", "http://stub"), Buffer.concat(chunks).toString("utf8"), res));
  });
  return new Promise((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", () => resolve(server)));
}

const urlOf = (server: http.Server): string => {
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
};

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
  let v2Url = "";
  const [pg, v2Server, stub] = await Promise.all([
    startWarmUpPostgres(),
    listen((method, u, body, res) => v2(method, u.pathname, body, res)),
    // One server for the rest: Kubernetes paths (warm-up-kube.ts); MLflow answers `{}` (an empty search: MLflow leaves
    // out empty fields); anything else (the broker) 202.
    listen((method, u, _body, res) => {
      if (u.pathname.startsWith("/api/2.0/mlflow/") || u.pathname.startsWith("/ajax-api/")) res.writeHead(200, { "content-type": "application/json" }).end("{}");
      else if (u.pathname.startsWith("/api/") || u.pathname.startsWith("/apis/")) kube(method, u, res, v2Url);
      else res.writeHead(202).end();
    }),
  ]);
  v2Url = urlOf(v2Server);
  const url = urlOf(stub);
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
    infer: [`/${DEPLOYMENT}`, { method: "POST", headers: json, body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }) }],
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
      for (const s of [stub, v2Server]) s.closeAllConnections();
      await Promise.all([pg.close(), ...[stub, v2Server].map((s) => new Promise((resolve) => s.close(resolve)))]);
    },
  };
}
