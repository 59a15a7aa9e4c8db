// The exact data a version was trained and judged on, from the job's data.json: MLflow dataset inputs on the run
// (runs/log-inputs, contexts training / evaluation) and a version tag with the window and row counts.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TAG } from "../../platform/lineage.ts";
import { errorFields } from "../../platform/log.ts";
import type { LogModelDeps } from "./deps.ts";

export const DATA_TAG = TAG.data;

interface Used {
  base?: { uri?: string; rows?: number; of?: number };
  window?: { uri?: string; rows?: number; from?: string; to?: string; days?: number; model?: string };
  train?: { rows?: number; base?: number; window?: number };
  holdout?: { rows?: number; source?: string; file?: string };
}

function digest(uri: string | undefined, dir: string): string {
  const h = createHash("sha256");
  try {
    const p = uri?.startsWith("file:") ? fileURLToPath(uri) : uri && path.isAbsolute(uri) ? uri : path.join(dir, uri ?? "");
    h.update(fs.readFileSync(p));
  } catch {
    h.update(uri ?? "");
  }
  return h.digest("hex").slice(0, 8);
}

const dataset = (name: string, source: string, d: string, profile: Record<string, unknown>, context: string) => ({
  dataset: { name, digest: d, source_type: source.startsWith("file:") || source.startsWith("/") ? "local" : "external", source: JSON.stringify({ uri: source }), profile: JSON.stringify(profile) },
  tags: [{ key: "mlflow.data.context", value: context }],
});

/** A local path whichever way it is spelled (file: URI or path), to tell two spellings of one file apart from two files. */
function canonical(uri: string, dir: string): string {
  try {
    return uri.startsWith("file:") ? path.resolve(fileURLToPath(uri)) : path.isAbsolute(uri) ? path.resolve(uri) : uri.includes(":") ? uri : path.resolve(dir, uri);
  } catch {
    return uri;
  }
}

/**
 * Best effort: lineage never blocks registration, but a failure is logged. The base data is the spec's dataset when
 * the spec names one; register() has already logged that as the run's training input, so it is not logged again here.
 */
export async function logDataLineage(deps: LogModelDeps, model: string, version: string, runId: string, dir: string, specDataset?: string): Promise<void> {
  let used: Used;
  try {
    used = JSON.parse(fs.readFileSync(path.join(dir, "data.json"), "utf8")) as Used;
  } catch {
    return;
  }
  const datasets = [];
  const baseIsSpec = used.base?.uri !== undefined && specDataset !== undefined && canonical(used.base.uri, dir) === canonical(specDataset, dir);
  if (used.base?.uri && !baseIsSpec) datasets.push(dataset(`${model}-base`, used.base.uri, digest(used.base.uri, dir), { rows: used.base.rows, of: used.base.of, trainRows: used.train?.base }, "training"));
  if (used.window?.uri) {
    datasets.push(dataset(`${model}-feedback-window`, used.window.uri, digest(used.window.uri, dir), { from: used.window.from, to: used.window.to, days: used.window.days, rows: used.window.rows, trainRows: used.train?.window }, "training"));
  }
  if (used.holdout?.file) datasets.push(dataset(`${model}-holdout`, used.holdout.file, digest(used.holdout.file, dir), { rows: used.holdout.rows, from: used.holdout.source }, "evaluation"));
  try {
    if (datasets.length) await deps.mlflow.call("POST", "mlflow/runs/log-inputs", { run_id: runId, datasets });
    await deps.mlflow.setModelVersionTag(model, version, DATA_TAG, JSON.stringify(used));
  } catch (e) {
    deps.log.warn("log-model: data lineage not recorded", { model, version, ...errorFields(e) });
  }
}
