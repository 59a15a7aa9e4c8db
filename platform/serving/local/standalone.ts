// The embedded V2 server as a standalone serving runtime: one model from a directory the storage initializer filled
// (an MLflow model dir with an onnx flavor, or a bare model.onnx), served on the Open Inference Protocol. Arguments
// follow the KServe runtime convention: --model_name, --model_dir, --http_port (0 = any free port), --http_host.
//   node --import tsx platform/serving/local/standalone.ts --model_name iris --model_dir /mnt/models --http_port 8080
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { Registry } from "prom-client";
import { parseConfig } from "../../config/index.ts";
import { ValidationError } from "../../errors.ts";
import { createLogger } from "../../log.ts";
import { findModelDir, readMlModel } from "../mlmodel.ts";
import type { OnnxThreading } from "../onnx-options.ts";
import { v2Routes } from "./routes.ts";
import { EmbeddedV2Server } from "./server.ts";

export interface StandaloneOptions {
  readonly modelName: string;
  readonly modelDir: string;
  readonly modelVersion: string;
  readonly port: number;
  readonly host: string;
  /** onnxruntime threads and spin-waiting (config.serving.onnx: FLYWHEEL_ONNX_THREADS, FLYWHEEL_ONNX_SPINNING). */
  readonly onnx?: OnnxThreading | undefined;
  /** Worker threads that run the model (config.serving.onnxWorkers: FLYWHEEL_ONNX_WORKERS; 0 = on the event loop). */
  readonly onnxWorkers?: number | undefined;
}

/** Parse the runtime's argv; a bad value is a ValidationError naming the flag. */
export function parseStandaloneArgs(argv: readonly string[]): StandaloneOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      model_name: { type: "string" },
      model_dir: { type: "string" },
      model_version: { type: "string", default: "1" },
      http_port: { type: "string", default: "8080" },
      http_host: { type: "string", default: "127.0.0.1" },
    },
    strict: true,
  });
  const port = Number(values.http_port);
  const issues = [
    ...(!values.model_name ? [{ field: "--model_name", message: "is required" }] : []),
    ...(!values.model_dir ? [{ field: "--model_dir", message: "is required" }] : []),
    ...(!Number.isInteger(port) || port < 0 || port > 65535 ? [{ field: "--http_port", message: "must be a port number (0 = any)" }] : []),
  ];
  if (issues.length) throw new ValidationError(issues);
  return { modelName: values.model_name ?? "", modelDir: values.model_dir ?? "", modelVersion: values.model_version, port, host: values.http_host };
}

/** The ONNX file of a downloaded model (confined to the model directory, as the embedded backend checks). */
export function onnxFileIn(dir: string): string {
  if (dir.endsWith(".onnx") && fs.existsSync(dir)) return dir;
  const modelDir = findModelDir(dir);
  const info = readMlModel(modelDir);
  const file = info.onnxFile ?? path.join(modelDir, "model.onnx");
  if (!fs.existsSync(file)) {
    throw new ValidationError([{ field: "--model_dir", message: `no ONNX model in ${dir} (flavors: ${info.flavors.join(", ") || "none"}): this runtime serves ONNX only` }]);
  }
  if (!fs.realpathSync(file).startsWith(fs.realpathSync(modelDir) + path.sep)) throw new ValidationError([{ field: "--model_dir", message: "the ONNX file lies outside the model directory" }]);
  return file;
}

export async function startStandalone(o: StandaloneOptions): Promise<{ url: string; close(): Promise<void> }> {
  const server = new EmbeddedV2Server({ registry: new Registry(), name: "flywheel-v2", onnx: o.onnx, onnxWorkers: o.onnxWorkers });
  const info = readMlModel(findModelDir(o.modelDir));
  await server.loadModel({
    name: o.modelName,
    version: o.modelVersion,
    model: onnxFileIn(o.modelDir),
    parameters: {
      ...(info.labels ? { labels: [...info.labels] } : {}),
      ...(info.signature ? { columns: info.signature.inputs.map((i) => i.name), signature: info.signature } : {}),
    },
  });
  const app = new Hono().route("/v2", v2Routes(server));
  const http = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(o.port, o.host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${o.host}:${port}`,
    close: async () => {
      await new Promise<void>((r) => http.close(() => r()));
      await server.close();
    },
  };
}

async function main(): Promise<void> {
  const log = createLogger("info", { service: "flywheel-v2" });
  try {
    const { serving } = parseConfig(process.env);
    const o = { ...parseStandaloneArgs(process.argv.slice(2)), onnx: serving.onnx, onnxWorkers: serving.onnxWorkers };
    const s = await startStandalone(o);
    log.info("listening", { port: Number(new URL(s.url).port), model: o.modelName });
    const stop = (): void => void s.close().then(() => process.exit(0));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  } catch (e) {
    log.error("could not start", { message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) void main();
