// The build's warm-up only: the Kubernetes API server stand-in, holding one Ready InferenceService, and the V2 server its
// status.url points at. infer's first request (bench/coldstart's probe, a raw V2 request to `iris`) then runs its whole
// path, as in a cluster: discovery, the InferenceService, the model's metadata, the inference, the decoding.
import type http from "node:http";

export const NAMESPACE = "flywheel";
/** The deployment (and model) infer's first request names. */
export const DEPLOYMENT = "iris";

const ISVC_API = "serving.kserve.io/v1beta1";
const json = { "content-type": "application/json" };

/**
 * The InferenceService the KServe backend renders for a model deployment (kserve/backend.ts: labels, annotations, a V2
 * predictor), with the status KServe writes once it is Ready: `url` is where infer sends V2 requests.
 */
export function standInInferenceService(url: string): Record<string, unknown> {
  const spec = { kind: "model", name: DEPLOYMENT, model: DEPLOYMENT, version: "1" };
  const now = new Date(0).toISOString();
  return {
    apiVersion: ISVC_API,
    kind: "InferenceService",
    metadata: {
      name: DEPLOYMENT,
      namespace: NAMESPACE,
      uid: "00000000-0000-4000-8000-000000000001",
      resourceVersion: "2",
      generation: 1,
      creationTimestamp: now,
      labels: { "app.kubernetes.io/managed-by": "flywheel", "flywheel.dev/deployment": DEPLOYMENT, "flywheel.dev/kind": "model" },
      annotations: {
        "flywheel.dev/revision": "warm-up",
        "flywheel.dev/spec": JSON.stringify(spec),
        "flywheel.dev/model": DEPLOYMENT,
        "flywheel.dev/version": "1",
        "serving.kserve.io/deploymentMode": "Serverless",
      },
    },
    spec: {
      predictor: {
        minReplicas: 0,
        model: { modelFormat: { name: "onnx" }, protocolVersion: "v2", storageUri: "s3://warm-up/iris", env: [{ name: "MLSERVER_MODEL_VERSION", value: "1" }] },
      },
    },
    status: {
      url,
      address: { url: `http://${DEPLOYMENT}.${NAMESPACE}.svc.cluster.local` },
      observedGeneration: 1,
      deploymentMode: "Serverless",
      conditions: ["IngressReady", "PredictorReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now })),
    },
  };
}

/** Discovery of the one group/version it serves (an APIResourceList, as the API server answers it). */
const DISCOVERY = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: ISVC_API,
  resources: [
    { name: "inferenceservices", singularName: "inferenceservice", namespaced: true, kind: "InferenceService", shortNames: ["isvc"], verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"] },
    { name: "inferenceservices/status", singularName: "", namespaced: true, kind: "InferenceService", verbs: ["get", "patch", "update"] },
  ],
};

/**
 * The API server: discovery of serving.kserve.io/v1beta1; InferenceServices list (with `iris`) and `iris` reads; any
 * other collection lists empty, a watch stays open with no event, any other object or group is NotFound.
 * Paths: /api/v1/[namespaces/<ns>/]<plural>[/<name>...] and /apis/<group>/<version>/[namespaces/<ns>/]<plural>[/...].
 */
export function kube(method: string, url: URL, res: http.ServerResponse, v2Url: string): void {
  const parts = url.pathname.split("/").filter(Boolean);
  const groupVersion = parts[0] === "api" ? parts[1] : `${parts[1] ?? ""}/${parts[2] ?? ""}`;
  const rest = parts.slice(parts[0] === "api" ? 2 : 3);
  const ns = rest[0] === "namespaces" && rest.length > 2 ? rest[1] : undefined;
  const resource = rest[0] === "namespaces" && rest.length > 2 ? rest.slice(2) : rest;
  const isvcs = groupVersion === ISVC_API && resource[0] === "inferenceservices" && (ns === undefined || ns === NAMESPACE);
  if (method === "GET" && groupVersion === ISVC_API && resource.length === 0) return void res.writeHead(200, json).end(JSON.stringify(DISCOVERY));
  if (method === "GET" && resource.length === 1) {
    if (url.searchParams.get("watch") === "true") return void res.writeHead(200, json).flushHeaders();
    const items = isvcs ? [standInInferenceService(v2Url)] : [];
    const kind = isvcs ? "InferenceServiceList" : "List";
    return void res.writeHead(200, json).end(JSON.stringify({ kind, apiVersion: isvcs ? ISVC_API : "v1", metadata: { resourceVersion: "2" }, items }));
  }
  if (method === "GET" && isvcs && resource.length === 2 && resource[1] === DEPLOYMENT) return void res.writeHead(200, json).end(JSON.stringify(standInInferenceService(v2Url)));
  const status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `${url.pathname} not found`, reason: "NotFound", code: 404 };
  res.writeHead(404, json).end(JSON.stringify(status));
}

/** What the served model says of itself (V2 metadata, with the columns and labels Flywheel's runtime adds). */
const METADATA = {
  name: DEPLOYMENT,
  versions: ["1"],
  platform: "onnxruntime_onnx",
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [
    { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
    { name: "label", datatype: "INT64", shape: [-1] },
  ],
  parameters: { registered_model: DEPLOYMENT, labels: ["setosa", "versicolor", "virginica"], columns: ["sepal_length", "sepal_width", "petal_length", "petal_width"] },
};

const field = (o: unknown, key: string): unknown => (typeof o === "object" && o !== null ? Reflect.get(o, key) : undefined);

/** Rows of a V2 request body's first input (shape[0]), or undefined if it is not one. */
function rowsOf(body: string): number | undefined {
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch {
    return undefined;
  }
  const inputs = field(req, "inputs");
  const shape = field(Array.isArray(inputs) ? inputs[0] : undefined, "shape");
  const rows: unknown = Array.isArray(shape) ? shape[0] : undefined;
  return typeof rows === "number" && Number.isInteger(rows) && rows > 0 && rows <= 10_000 ? rows : undefined;
}

/**
 * The V2 server (Open Inference Protocol REST) of `iris`: its metadata, and an inference answer of the served model's
 * shape for as many rows as were sent (every row class 0, probabilities summing to 1). Anything else: a V2 error.
 */
export function v2(method: string, pathname: string, body: string, res: http.ServerResponse): void {
  const model = `/v2/models/${DEPLOYMENT}`;
  if (method === "GET" && pathname === model) return void res.writeHead(200, json).end(JSON.stringify(METADATA));
  const rows = method === "POST" && pathname === `${model}/infer` ? rowsOf(body) : undefined;
  if (rows === undefined) return void res.writeHead(pathname.startsWith(model) ? 400 : 404, json).end(JSON.stringify({ error: `no V2 route or a bad request: ${method} ${pathname}` }));
  const outputs = [
    { name: "probabilities", datatype: "FP32", shape: [rows, 3], data: Array.from({ length: rows }, () => [0.9, 0.075, 0.025]).flat() },
    { name: "label", datatype: "INT64", shape: [rows], data: Array.from({ length: rows }, () => 0) },
  ];
  res.writeHead(200, json).end(JSON.stringify({ model_name: DEPLOYMENT, model_version: "1", id: "warm-up", outputs }));
}
