// Reads a training job's outputs (docs/artifacts.md): model/MLmodel (flavors, signature, labels), metrics.json, baseline.json, run.json.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ValidationError } from "../../platform/errors.ts";
import type { ModelSignature } from "../../platform/ports.ts";
import { parseYaml, YamlError } from "../../platform/yaml.ts";

export interface TrainingOutputs {
  readonly dir: string;
  /** Directory to upload as the run's `model/` artifact (model/ itself, or the root for a bare model.onnx). */
  readonly modelDir: string | undefined;
  /** Files of modelDir to upload (all of model/, or just the model file and signature for a bare layout). */
  readonly modelFiles: readonly string[];
  readonly mlmodel: Record<string, unknown> | undefined;
  readonly flavors: readonly string[];
  readonly flavor: string;
  readonly signature: ModelSignature | undefined;
  readonly labels: readonly string[] | undefined;
  readonly metrics: Readonly<Record<string, number>>;
  readonly baselinePath: string | undefined;
  readonly metricsPath: string | undefined;
  readonly run: { runId?: string | undefined; experimentId?: string | undefined } | undefined;
  /** source.json: the git source the runner cloned and the commit it checked out. */
  readonly source: { git: string; ref: string; commit: string } | undefined;
}

/** The PVC Kubernetes training jobs write to (artifactUri pvc://<claim>/<job>, platform/training/kubernetes/render.ts). */
export const ARTIFACTS_PVC = "flywheel-artifacts";

/**
 * file:// URI or absolute path -> local directory; pvc://flywheel-artifacts/<path> -> <pvcDir>/<path> where this pod
 * mounts that claim (Knative log-model); undefined for remote URIs.
 */
export function localDir(uri: string, pvcDir?: string): string | undefined {
  if (uri.startsWith("file:")) return fileURLToPath(uri);
  const prefix = `pvc://${ARTIFACTS_PVC}/`;
  if (pvcDir && uri.startsWith(prefix)) {
    const dir = path.resolve(pvcDir, uri.slice(prefix.length));
    // A path that climbs out of the mount is not a training output.
    return dir.startsWith(`${pvcDir}${path.sep}`) ? dir : undefined;
  }
  if (path.isAbsolute(uri)) return uri;
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    throw new ValidationError([{ field: "data.artifactUri", message: `${path.basename(file)} is not valid JSON` }]);
  }
}

type Spec = ModelSignature["inputs"][number];

/** MLflow signature entries: column specs {type, name} or tensor specs {type: tensor, tensor-spec: {dtype, shape}}. */
function specList(v: unknown, prefix: string): Spec[] {
  const parsed = typeof v === "string" ? JSON.parse(v) : v;
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(isRecord).map((e, i) => {
    const name = typeof e.name === "string" ? e.name : `${prefix}${i}`;
    const tensor = e["tensor-spec"];
    if (e.type === "tensor" && isRecord(tensor)) {
      const shape = Array.isArray(tensor.shape) ? tensor.shape.filter((n): n is number => typeof n === "number") : undefined;
      return { name, type: typeof tensor.dtype === "string" ? tensor.dtype : "float32", ...(shape ? { shape } : {}) };
    }
    return { name, type: typeof e.type === "string" ? e.type : "double" };
  });
}

function signatureFrom(v: unknown): ModelSignature | undefined {
  if (!isRecord(v)) return undefined;
  try {
    const inputs = specList(v.inputs, "input");
    const outputs = specList(v.outputs, "output");
    return inputs.length || outputs.length ? { inputs, outputs } : undefined;
  } catch {
    return undefined;
  }
}

function primaryFlavor(flavors: readonly string[]): string {
  if (flavors.includes("onnx")) return "onnx";
  return flavors.find((f) => f !== "python_function") ?? flavors[0] ?? "unknown";
}

function listFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

export function readOutputs(dir: string): TrainingOutputs {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ValidationError([{ field: "data.artifactUri", message: `artifact directory ${dir} does not exist` }]);
  }
  const at = (f: string): string | undefined => (fs.existsSync(path.join(dir, f)) ? path.join(dir, f) : undefined);
  const modelSub = at("model");
  let modelDir: string | undefined;
  let modelFiles: string[] = [];
  if (modelSub && fs.statSync(modelSub).isDirectory()) {
    modelDir = modelSub;
    modelFiles = listFiles(modelSub);
  } else if (at("model.onnx")) {
    modelDir = dir;
    modelFiles = ["model.onnx", ...(at("signature.json") ? ["signature.json"] : [])];
  }
  let mlmodel: Record<string, unknown> | undefined;
  const mlmodelPath = modelDir ? path.join(modelDir, "MLmodel") : undefined;
  if (mlmodelPath && fs.existsSync(mlmodelPath)) {
    let parsed: unknown;
    try {
      parsed = parseYaml(fs.readFileSync(mlmodelPath, "utf8"));
    } catch (e) {
      if (!(e instanceof YamlError)) throw e;
      throw new ValidationError([{ field: "data.artifactUri", message: `model/MLmodel is not valid YAML: ${e.message}` }]);
    }
    if (!isRecord(parsed)) throw new ValidationError([{ field: "data.artifactUri", message: "model/MLmodel is not a YAML mapping" }]);
    mlmodel = parsed;
  }
  const flavors = isRecord(mlmodel?.flavors) ? Object.keys(mlmodel.flavors) : modelFiles.includes("model.onnx") ? ["onnx"] : [];
  let signature = signatureFrom(mlmodel?.signature);
  const sigFile = at("signature.json") ?? (modelDir ? (fs.existsSync(path.join(modelDir, "signature.json")) ? path.join(modelDir, "signature.json") : undefined) : undefined);
  if (!signature && sigFile) signature = signatureFrom(readJson(sigFile));
  const meta = isRecord(mlmodel?.metadata) ? mlmodel.metadata : undefined;
  const labels = Array.isArray(meta?.labels) ? meta.labels.map(String) : undefined;

  const metricsPath = at("metrics.json");
  const metrics: Record<string, number> = {};
  if (metricsPath) {
    const m = readJson(metricsPath);
    if (!isRecord(m)) throw new ValidationError([{ field: "data.artifactUri", message: "metrics.json must be a flat JSON object" }]);
    for (const [k, v] of Object.entries(m)) if (typeof v === "number" && Number.isFinite(v)) metrics[k] = v;
  }
  const runFile = at("run.json");
  const runJson = runFile ? readJson(runFile) : undefined;
  const run = isRecord(runJson)
    ? {
        runId: typeof runJson.run_id === "string" ? runJson.run_id : undefined,
        experimentId: typeof runJson.experiment_id === "string" ? runJson.experiment_id : undefined,
      }
    : undefined;
  const sourceFile = at("source.json");
  const src = sourceFile ? readJson(sourceFile) : undefined;
  const source = isRecord(src) && typeof src.git === "string" && typeof src.commit === "string" && /^[0-9a-f]{7,64}$/.test(src.commit)
    ? { git: src.git, ref: typeof src.ref === "string" ? src.ref : "", commit: src.commit }
    : undefined;
  return {
    dir, modelDir, modelFiles, mlmodel, flavors, flavor: primaryFlavor(flavors), signature, labels, metrics,
    baselinePath: at("baseline.json"), metricsPath, run, source,
  };
}
