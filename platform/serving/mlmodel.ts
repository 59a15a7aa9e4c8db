// Reads an MLflow model directory (interfaces.md §6): MLmodel flavors, signature, labels, and Python requirements.
import fs from "node:fs";
import path from "node:path";
import { ValidationError } from "../errors.ts";
import type { ModelSignature, ResolvedModel } from "../ports.ts";
import { parseYaml } from "../yaml.ts";

export interface MlModelInfo {
  readonly flavors: readonly string[];
  readonly signature: ModelSignature | undefined;
  readonly labels: readonly string[] | undefined;
  readonly requirements: readonly string[];
  /** The ONNX file, when the model has an onnx flavor (flavors.onnx.data). */
  readonly onnxFile: string | undefined;
}

type Spec = { name: string; type: string; shape?: readonly number[] };

/** MLmodel signature strings -> named specs. Tensor specs without a name get input_<i> / output_<i>. */
export function parseSignatureSpecs(json: unknown, prefix: string): Spec[] {
  if (typeof json !== "string") return [];
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  return list.flatMap((item: unknown, i): Spec[] => {
    if (!item || typeof item !== "object") return [];
    const o = item as Record<string, unknown>;
    const name = typeof o.name === "string" ? o.name : `${prefix}_${i}`;
    const ts = o["tensor-spec"];
    if (o.type === "tensor" && ts && typeof ts === "object") {
      const t = ts as Record<string, unknown>;
      const shape = Array.isArray(t.shape) ? t.shape.filter((d): d is number => typeof d === "number") : undefined;
      return [{ name, type: String(t.dtype ?? "float32"), ...(shape ? { shape } : {}) }];
    }
    return [{ name, type: String(o.type ?? "double") }];
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The `dependencies` list of a python_env.yaml or conda.yaml. */
function dependenciesOf(text: string, file: string): unknown {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ValidationError([{ field: file, message: `is not valid YAML: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return isObject(doc) ? doc.dependencies : undefined;
}

function readIf(file: string): string | undefined {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

/** requirements.txt, else python_env.yaml dependencies, else conda.yaml pip dependencies. */
export function readRequirements(dir: string): string[] {
  const clean = (lines: readonly unknown[]): string[] =>
    lines.map((l) => String(l).trim()).filter((l) => l && !l.startsWith("#") && !l.startsWith("-"));
  const req = readIf(path.join(dir, "requirements.txt"));
  if (req !== undefined) return clean(req.split(/\r?\n/));
  const pyEnv = readIf(path.join(dir, "python_env.yaml"));
  if (pyEnv !== undefined) {
    const deps: unknown = dependenciesOf(pyEnv, "python_env.yaml");
    if (Array.isArray(deps)) return clean(deps);
  }
  const conda = readIf(path.join(dir, "conda.yaml"));
  if (conda !== undefined) {
    const deps: unknown = dependenciesOf(conda, "conda.yaml");
    if (Array.isArray(deps)) {
      const pip = deps.find((d): d is { pip: unknown[] } => Boolean(d) && typeof d === "object" && Array.isArray((d as { pip?: unknown }).pip));
      return clean(pip?.pip ?? []);
    }
  }
  return [];
}

export function readMlModel(dir: string): MlModelInfo {
  const text = readIf(path.join(dir, "MLmodel"));
  if (text === undefined) {
    // A bare ONNX file or directory without MLmodel still serves on the embedded server.
    const onnx = fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? fs.readdirSync(dir).find((f) => f.endsWith(".onnx")) : undefined;
    return { flavors: onnx ? ["onnx"] : [], signature: undefined, labels: undefined, requirements: readRequirements(dir), onnxFile: onnx ? path.join(dir, onnx) : undefined };
  }
  let doc: Record<string, unknown>;
  try {
    const parsed = parseYaml(text);
    doc = isObject(parsed) ? parsed : {};
  } catch {
    throw new ValidationError([{ field: "MLmodel", message: "is not valid YAML" }]);
  }
  const flavors = doc.flavors && typeof doc.flavors === "object" ? (doc.flavors as Record<string, unknown>) : {};
  const sig = doc.signature && typeof doc.signature === "object" ? (doc.signature as Record<string, unknown>) : undefined;
  const meta = doc.metadata && typeof doc.metadata === "object" ? (doc.metadata as Record<string, unknown>) : {};
  const labels = Array.isArray(meta.labels) ? meta.labels.map(String) : undefined;
  const onnxFlavor = flavors.onnx && typeof flavors.onnx === "object" ? (flavors.onnx as Record<string, unknown>) : undefined;
  const onnxData = typeof onnxFlavor?.data === "string" ? onnxFlavor.data : onnxFlavor ? "model.onnx" : undefined;
  const onnxFile = onnxData ? path.resolve(dir, onnxData) : undefined;
  // The model directory is what was downloaded: an MLmodel naming ../../x must not make the server load any other file.
  const root = path.resolve(dir);
  if (onnxFile && !onnxFile.startsWith(root + path.sep)) {
    throw new ValidationError([{ field: "MLmodel", message: "flavors.onnx.data must name a file inside the model directory" }]);
  }
  return {
    flavors: Object.keys(flavors),
    signature: sig ? { inputs: parseSignatureSpecs(sig.inputs, "input"), outputs: parseSignatureSpecs(sig.outputs, "output") } : undefined,
    labels,
    requirements: readRequirements(dir),
    onnxFile,
  };
}

/** Locate the MLflow model dir inside a downloaded artifact tree (the dir itself, or its `model/` child). */
export function findModelDir(root: string): string {
  if (fs.existsSync(path.join(root, "MLmodel"))) return root;
  if (fs.existsSync(path.join(root, "model", "MLmodel"))) return path.join(root, "model");
  if (fs.existsSync(path.join(root, "model", "model.onnx"))) return path.join(root, "model");
  return root;
}

/** A downloaded registry version as the serving backends need it. */
export function resolveModelDir(model: string, version: string, dir: string, storageUri: string): ResolvedModel {
  const modelDir = findModelDir(dir);
  const info = readMlModel(modelDir);
  return {
    model,
    version,
    storageUri,
    localPath: modelDir,
    flavors: info.flavors,
    ...(info.signature ? { signature: info.signature } : {}),
    ...(info.labels ? { labels: info.labels } : {}),
    requirements: info.requirements,
  };
}
