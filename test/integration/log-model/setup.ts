// Test setup for log-model: the embedded registry in-process, an MLflow client wired to it, a recording bus, and
// training output directories in the docs/artifacts.md layout.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Hono } from "hono";
import { buildEvent, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { createRegistryServer, type RegistryServer } from "../../../platform/registry/index.ts";
import { createLogModelDeps, type LogModelDeps } from "../../../functions/log-model/index.ts";

export interface World {
  readonly server: RegistryServer;
  readonly client: MlflowClient;
  readonly events: AnyCloudEvent[];
  readonly deps: LogModelDeps;
  readonly tmp: string;
  /** Deps sharing the registry and bus but with their own locks: another process, as far as log-model can tell. */
  otherProcess(): LogModelDeps;
  close(): void;
}

export const POLICIES = `defaults:
  gate: {metric: accuracy, direction: maximize, minImprovement: 0.01, floors: {accuracy: 0.8}}
`;

export function startWorld(): World {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-log-model-"));
  const server = createRegistryServer({ dataDir: path.join(tmp, "registry"), log: createLogger("silent") });
  const app = new Hono().route("/api/2.0", server.routes);
  const client = new MlflowClient({ trackingUri: "http://registry.test", fetch: async (url, init) => app.request(url, init) });
  const events: AnyCloudEvent[] = [];
  const bus = { emit: async (e: AnyCloudEvent) => void events.push(e) };
  const base = { bus, log: createLogger("silent"), now: () => 1_700_000_000_000, mlflow: client, policies: parsePolicies(POLICIES) };
  return {
    server, client, events, tmp,
    deps: createLogModelDeps(base),
    otherProcess: () => createLogModelDeps(base),
    close() {
      server.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** A training job's output directory: model/ (MLmodel + model.onnx), metrics.json, baseline.json. */
export function writeOutputs(root: string, metrics: Record<string, number>): string {
  const dir = path.join(root, `job-${++counter}`);
  fs.mkdirSync(path.join(dir, "model"), { recursive: true });
  const inputs = JSON.stringify([{ type: "tensor", "tensor-spec": { dtype: "float32", shape: [-1, 4] }, name: "input" }]);
  const outputs = JSON.stringify([{ type: "tensor", "tensor-spec": { dtype: "int64", shape: [-1] }, name: "label" }]);
  fs.writeFileSync(path.join(dir, "model", "MLmodel"), [
    "artifact_path: model",
    "flavors:",
    "  onnx: {onnx_version: 1.12.0, data: model.onnx}",
    "  python_function: {loader_module: mlflow.onnx, python_version: 3.11.2}",
    "signature:",
    `  inputs: '${inputs}'`,
    `  outputs: '${outputs}'`,
    "metadata:",
    "  labels: [setosa, versicolor, virginica]",
    "",
  ].join("\n"));
  fs.writeFileSync(path.join(dir, "model", "model.onnx"), Buffer.from([0x08, 0x07, 0x12, counter % 256]));
  fs.writeFileSync(path.join(dir, "metrics.json"), JSON.stringify(metrics));
  fs.writeFileSync(path.join(dir, "baseline.json"), JSON.stringify({ version: 1, features: {}, rows: 150 }));
  return dir;
}

export function succeeded(id: string, dir: string, extra: { model?: string; runId?: string; metrics?: Record<string, number> } = {}): AnyCloudEvent {
  const model = extra.model ?? "iris";
  return buildEvent("training.succeeded", {
    jobId: `job-${id}`,
    model,
    kind: "single",
    backend: "local",
    trigger: { reason: "drift", eventId: `alert-${id}` },
    spec: { model, command: ["node", "train.js"], params: { lr: "0.1", epochs: "20" }, dataset: "file:///data/iris.csv", codeVersion: "abc123" },
    artifactUri: pathToFileURL(dir).href,
    metrics: extra.metrics ?? {},
    startedAt: 1_700_000_000_000,
    finishedAt: 1_700_000_060_000,
    ...(extra.runId ? { runId: extra.runId } : {}),
  }, { source: "/test", id });
}

export function promotion(id: string, data: { model: string; action: "promote" | "rollback"; version?: string; user?: string }): AnyCloudEvent {
  return buildEvent("model.promotion.requested", data, { source: "/test", id });
}

export const typesOf = (events: readonly AnyCloudEvent[]): string[] => events.map((e) => e.type.replace("dev.flywheel.", ""));
