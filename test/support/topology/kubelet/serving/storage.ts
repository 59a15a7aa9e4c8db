// The storage initializer (KServe's init container, Seldon's rclone agent): storageUri -> files in a local dir.
// pvc://<claim>/<path> and file:// as KServe resolves them; the MLflow schemes Flywheel registers (mlflow-artifacts:/,
// runs:/, models:/<name>/<version>) through the tracking server, as an MLflow-aware runtime would.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MlflowClient } from "../../../../../platform/mlflow/client.ts";

export interface StorageOptions {
  readonly pvcDir: (claim: string) => string;
  readonly mlflow?: { readonly trackingUri: string; readonly token?: string } | undefined;
}

export class StorageError extends Error {
  override name = "StorageError";
}

const inside = (file: string, root: string): boolean => {
  const real = fs.realpathSync(file);
  const r = fs.realpathSync(root);
  return real === r || real.startsWith(r + path.sep);
};

function copyLocal(src: string, dest: string, root: string | undefined): void {
  if (!fs.existsSync(src)) throw new StorageError(`${src} does not exist`);
  if (root && !inside(src, root)) throw new StorageError(`${src} leaves its volume`);
  fs.mkdirSync(dest, { recursive: true });
  if (fs.statSync(src).isDirectory()) fs.cpSync(src, dest, { recursive: true, dereference: true });
  else fs.copyFileSync(src, path.join(dest, path.basename(src)));
}

/** Download `uri` into `dest` (created); throws StorageError with a message fit for the object's status. */
export async function initializeStorage(uri: string, dest: string, o: StorageOptions, depth = 0): Promise<void> {
  if (depth > 3) throw new StorageError(`${uri} does not resolve to files`);
  const pvc = /^pvc:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (pvc) {
    const root = o.pvcDir(pvc[1] ?? "");
    const sub = pvc[2] ?? "";
    if (sub.split("/").includes("..")) throw new StorageError(`${uri} leaves the claim`);
    return copyLocal(path.join(root, sub), dest, root);
  }
  if (uri.startsWith("file://")) return copyLocal(fileURLToPath(uri), dest, undefined);
  const mlflowScheme = /^(mlflow-artifacts:|runs:\/|models:\/)/.test(uri);
  if (!mlflowScheme) throw new StorageError(`storage URI scheme of ${uri} is not supported here (pvc://, file://, mlflow-artifacts:/, runs:/, models:/)`);
  if (!o.mlflow) throw new StorageError(`${uri} needs an MLflow tracking server, and the kubelet was started without one`);
  const client = new MlflowClient({ trackingUri: o.mlflow.trackingUri, token: o.mlflow.token });
  if (uri.startsWith("mlflow-artifacts:")) {
    fs.mkdirSync(dest, { recursive: true });
    await client.downloadArtifacts(uri, dest);
    return;
  }
  const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
  if (runs) {
    const run = await client.getRun(runs[1] ?? "");
    const sub = runs[2] ?? "";
    if (sub.split("/").includes("..")) throw new StorageError(`${uri} leaves the run's artifacts`);
    return initializeStorage(sub ? `${run.info.artifact_uri.replace(/\/+$/, "")}/${sub}` : run.info.artifact_uri, dest, o, depth + 1);
  }
  const model = /^models:\/([^/]+)\/([^/]+)$/.exec(uri);
  if (model) return initializeStorage(await client.getModelVersionDownloadUri(model[1] ?? "", model[2] ?? ""), dest, o, depth + 1);
  throw new StorageError(`${uri}: unsupported models:/ form (models:/<name>/<version>)`);
}
