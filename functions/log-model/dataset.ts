// The training dataset as an MLflow dataset for runs/log-inputs: name, digest, source, schema and profile.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { DatasetInput } from "../../platform/mlflow/index.ts";
import { localDir, type TrainingOutputs } from "./outputs.ts";

/**
 * digest: sha256 of the file's bytes when the dataset is a readable local file (so the same data gives the same
 * digest), else of its URI. schema: the model signature's inputs (MLflow's colspec). profile: baseline.json's row count.
 */
export function datasetInput(uri: string, out: TrainingOutputs | undefined): DatasetInput {
  const local = localDir(uri);
  const file = local && fs.statSync(local, { throwIfNoEntry: false })?.isFile() ? local : undefined;
  const digest = createHash("sha256").update(file ? fs.readFileSync(file) : Buffer.from(uri)).digest("hex").slice(0, 16);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  const sourceType = !scheme || scheme === "file" ? "local" : scheme === "https" ? "http" : scheme;
  const name = path.basename(uri.replace(/[?#].*$/, "")).replace(/\.[^.]+$/, "") || uri;
  const signature = out?.mlmodel?.signature;
  const inputs = signature && typeof signature === "object" && "inputs" in signature && typeof signature.inputs === "string" ? signature.inputs : undefined;
  const rows = baselineRows(out?.baselinePath);
  return {
    tags: [{ key: "mlflow.data.context", value: "training" }],
    dataset: {
      name,
      digest,
      source_type: sourceType,
      source: JSON.stringify({ uri }),
      ...(inputs ? { schema: JSON.stringify({ mlflow_colspec: JSON.parse(inputs) as unknown }) } : {}),
      ...(rows !== undefined ? { profile: JSON.stringify({ num_rows: rows }) } : {}),
    },
  };
}

function baselineRows(file: string | undefined): number | undefined {
  if (!file) return undefined;
  try {
    const b: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    return b && typeof b === "object" && "rows" in b && typeof b.rows === "number" ? b.rows : undefined;
  } catch {
    return undefined;
  }
}
