// The real embedded platform with Iris deployed, for a CPU profile of /infer or /v2 with the load in another process:
//   node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/infer/profile.ts   (prints its port; SIGINT ends it)
//   node --import tsx bench/serving/profile.ts load PORT /infer/iris|/v2/models/iris/infer [seconds] [record]
// Not a bench: run.ts measures.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { run, DEFAULT_PARAMS } from "../../examples/iris-node/train.ts";
import { startEmbedded } from "../../platform/app/start.ts";
import { resolveModelDir } from "../../platform/serving/mlmodel.ts";
import { DeploymentSpecSchema } from "../../platform/specs/deployment.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "profile-infer-"));
const out = run({ ...DEFAULT_PARAMS, epochs: 50 }, path.join(tmp, "train")).outDir;
const started = await startEmbedded({ env: { FLYWHEEL_LOG_LEVEL: "error", PATH: process.env.PATH, HOME: process.env.HOME }, port: 0, host: "127.0.0.1", dataDir: path.join(tmp, "data"), quiet: true });
await started.platform.serving.apply(DeploymentSpecSchema.parse({ kind: "model", name: "iris", model: "iris", version: "1" }), { revision: "r1", models: { iris: resolveModelDir("iris", "1", out, "file://" + out) } });
console.log(new URL(started.url).port);
process.once("SIGINT", () => {
  void started.stop().then(() => fs.rmSync(tmp, { recursive: true, force: true }));
});
