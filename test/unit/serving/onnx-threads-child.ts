// Child of onnx-threads.test.ts: onnxruntime's verbose log on (it prints each session's options as the runtime took
// them, on stderr), then one session made by the embedded V2 server and one by log-model's evaluator, from parsed config.
//   node --import tsx onnx-threads-child.ts <model dir>
import path from "node:path";
import { env } from "onnxruntime-node";
import { Registry } from "prom-client";
import { onnxEvaluatorWith, readHoldout } from "../../../functions/log-model/evaluate.ts";
import { parseConfig } from "../../../platform/config/index.ts";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";

// Read when the runtime initialises, i.e. before the first session.
env.logLevel = "verbose";
const [modelDir = ""] = process.argv.slice(2);
const serving = parseConfig({ FLYWHEEL_ONNX_THREADS: "3" }).serving.onnx;
const evaluating = parseConfig({ FLYWHEEL_ONNX_THREADS: "2", FLYWHEEL_ONNX_SPINNING: "1" }).serving.onnx;
const server = new EmbeddedV2Server({ registry: new Registry(), onnx: serving });
await server.loadModel({ name: "iris", version: "1", model: path.join(modelDir, "model", "model.onnx") });
await server.close();
process.stderr.write("=== evaluator\n");
await onnxEvaluatorWith(evaluating).accuracy(path.join(modelDir, "model"), readHoldout(path.join(modelDir, "holdout.csv")));
