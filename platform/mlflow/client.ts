// The MLflow client: tracking + registry + the mlflow-artifacts proxy (upload, list, download) + MLflow 3.x logged models.
import fs from "node:fs";
import path from "node:path";
import * as z from "zod";
import type { Config } from "../config/index.ts";
import { ValidationError } from "../errors.ts";
import { MlflowUpstreamError, mlflowError } from "./errors.ts";
import { RegistryClient } from "./registry-api.ts";
import { FileInfoSchema, LoggedModelSchema, parseAs, type FileInfo, type LoggedModel, type Page } from "./schemas.ts";
import { paginate } from "./tracking.ts";
import type { FetchLike } from "./transport.ts";
import { trimSlashes } from "../slashes.ts";

export const ARTIFACT_SCHEME = "mlflow-artifacts:";
export const LOGGED_MODEL_STATUSES = ["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

/** Encoded proxy path; "." and ".." segments are refused: URL normalisation would move the request elsewhere. */
function encodePath(p: string): string {
  const segments = p.split("/").filter(Boolean);
  if (segments.some((s) => s === "." || s === "..")) throw new ValidationError([{ field: "artifact_path", message: `artifact path ${p} must not contain "." or ".." segments` }]);
  return segments.map(encodeURIComponent).join("/");
}

/** "mlflow-artifacts:/1/abc/artifacts" (or with a host) -> "1/abc/artifacts". */
export function proxyPathOf(uri: string): string {
  if (!uri.startsWith(ARTIFACT_SCHEME)) throw new TypeError(`not an mlflow-artifacts URI: ${uri}`);
  const rest = uri.slice(ARTIFACT_SCHEME.length);
  // mlflow-artifacts://host:port/path carries an authority; the path is what the proxy serves.
  const noAuthority = rest.startsWith("//") ? rest.slice(2).replace(/^[^/]*/, "") : rest;
  return trimSlashes(noAuthority);
}

export class MlflowClient extends RegistryClient {
  /** A client for `trackingUri` with the credentials and CA bundle of the typed config (MLFLOW_TRACKING_*). */
  static fromConfig(config: Config, trackingUri: string, fetchImpl?: FetchLike): MlflowClient {
    return new MlflowClient({
      trackingUri,
      token: config.registry.token,
      username: config.registry.username,
      password: config.registry.password,
      caBundlePath: config.registry.caBundlePath,
      fetch: fetchImpl,
    });
  }

  // ---- mlflow-artifacts proxy
  private artifactUrl(p: string): string {
    return `${this.baseUrl}/api/2.0/mlflow-artifacts/artifacts/${encodePath(p)}`;
  }

  /** PUT one file's bytes at a proxy path. */
  async putArtifact(proxyPath: string, data: Uint8Array | string): Promise<void> {
    const context = `PUT mlflow-artifacts/${proxyPath}`;
    const res = await this.send("PUT", this.artifactUrl(proxyPath), { "content-type": "application/octet-stream" }, typeof data === "string" ? Buffer.from(data) : data, context);
    if (!res.ok) throw mlflowError(res.status, await res.json().catch(() => ({})), context);
    await res.body?.cancel();
  }

  async getArtifact(proxyPath: string): Promise<Buffer> {
    const context = `GET mlflow-artifacts/${proxyPath}`;
    const res = await this.send("GET", this.artifactUrl(proxyPath), {}, undefined, context);
    if (!res.ok) throw mlflowError(res.status, await res.json().catch(() => ({})), context);
    return Buffer.from(await res.arrayBuffer());
  }

  async deleteArtifact(proxyPath: string): Promise<void> {
    const context = `DELETE mlflow-artifacts/${proxyPath}`;
    const res = await this.send("DELETE", this.artifactUrl(proxyPath), {}, undefined, context);
    if (!res.ok) throw mlflowError(res.status, await res.json().catch(() => ({})), context);
    await res.body?.cancel();
  }

  /** One directory of the proxy; paths come back relative to dir (basenames), as MLflow answers. */
  async listProxy(dir: string): Promise<FileInfo[]> {
    const r = await this.call("GET", "mlflow-artifacts/artifacts", { path: dir || undefined });
    return parseAs(z.object({ files: z.array(FileInfoSchema).default([]) }), r, "mlflow-artifacts/artifacts").files;
  }

  /** GET mlflow/artifacts/list for a run: paths relative to the run's artifact root. */
  async listArtifacts(runId: string, p?: string): Promise<{ rootUri: string; files: FileInfo[] }> {
    const r = await this.call("GET", "mlflow/artifacts/list", { run_id: runId, run_uuid: runId, path: p });
    const parsed = parseAs(z.object({ root_uri: z.string().default(""), files: z.array(FileInfoSchema).default([]) }), r, "artifacts/list");
    return { rootUri: parsed.root_uri, files: parsed.files };
  }

  /** Upload a local file or directory (recursively) under an mlflow-artifacts URI at artifactPath. Returns files sent. */
  async uploadArtifacts(artifactUri: string, localPath: string, artifactPath = ""): Promise<number> {
    const base = [proxyPathOf(artifactUri), trimSlashes(artifactPath)].filter(Boolean).join("/");
    const st = fs.statSync(localPath);
    if (!st.isDirectory()) {
      await this.putArtifact(`${base}/${path.basename(localPath)}`, fs.readFileSync(localPath));
      return 1;
    }
    let count = 0;
    for (const entry of fs.readdirSync(localPath, { withFileTypes: true })) {
      const full = path.join(localPath, entry.name);
      if (entry.isDirectory()) count += await this.uploadArtifacts(artifactUri, full, [artifactPath, entry.name].filter(Boolean).join("/"));
      else if (entry.isFile()) {
        await this.putArtifact(`${base}/${entry.name}`, fs.readFileSync(full));
        count++;
      }
    }
    return count;
  }

  /** Download everything under an mlflow-artifacts URI into destDir, following the proxy's listings. */
  async downloadArtifacts(artifactUri: string, destDir: string): Promise<number> {
    const root = proxyPathOf(artifactUri);
    let count = 0;
    const walk = async (rel: string): Promise<void> => {
      const dir = [root, rel].filter(Boolean).join("/");
      const files = await this.listProxy(dir);
      if (files.length === 0 && rel === "") {
        // The URI may name a single file rather than a directory.
        const data = await this.getArtifact(root);
        fs.mkdirSync(destDir, { recursive: true });
        fs.writeFileSync(path.join(destDir, path.posix.basename(root)), data);
        count++;
        return;
      }
      for (const f of files) {
        const name = path.posix.basename(f.path);
        if (!name || name === ".." || name === ".") throw new MlflowUpstreamError("unsafe artifact name in listing", false, "MALFORMED_RESPONSE", 200);
        const childRel = rel ? `${rel}/${name}` : name;
        if (f.is_dir) await walk(childRel);
        else {
          const target = path.join(destDir, ...childRel.split("/"));
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.writeFileSync(target, await this.getArtifact(`${dir}/${name}`));
          count++;
        }
      }
    };
    await walk("");
    return count;
  }

  // ---- MLflow 3.x logged models
  async createLoggedModel(opts: { experimentId: string; name?: string; modelType?: string; sourceRunId?: string; params?: Record<string, string>; tags?: Record<string, string> }): Promise<LoggedModel> {
    const kv = (o: Record<string, string> | undefined) => Object.entries(o ?? {}).map(([key, value]) => ({ key, value }));
    const r = await this.call("POST", "mlflow/logged-models", {
      experiment_id: opts.experimentId, name: opts.name, model_type: opts.modelType, source_run_id: opts.sourceRunId,
      params: kv(opts.params), tags: kv(opts.tags),
    });
    return parseAs(z.object({ model: LoggedModelSchema }), r, "logged-models").model;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    const r = await this.call("GET", `mlflow/logged-models/${encodeURIComponent(modelId)}`);
    return parseAs(z.object({ model: LoggedModelSchema }), r, "logged-models/get").model;
  }

  async finalizeLoggedModel(modelId: string, status: LoggedModelStatus = "LOGGED_MODEL_READY"): Promise<LoggedModel> {
    const r = await this.call("PATCH", `mlflow/logged-models/${encodeURIComponent(modelId)}`, { model_id: modelId, status });
    return parseAs(z.object({ model: LoggedModelSchema }), r, "logged-models/finalize").model;
  }

  async setLoggedModelTags(modelId: string, tags: Record<string, string>): Promise<LoggedModel> {
    const r = await this.call("PATCH", `mlflow/logged-models/${encodeURIComponent(modelId)}/tags`, {
      model_id: modelId, tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return parseAs(z.object({ model: LoggedModelSchema }), r, "logged-models/tags").model;
  }

  async searchLoggedModels(opts: { experimentIds: readonly string[]; filter?: string; maxResults?: number; pageToken?: string; orderBy?: readonly { fieldName: string; ascending?: boolean }[] }): Promise<Page<LoggedModel>> {
    const r = await this.call("POST", "mlflow/logged-models/search", {
      experiment_ids: opts.experimentIds, filter: opts.filter, max_results: opts.maxResults, page_token: opts.pageToken,
      order_by: opts.orderBy?.map((o) => ({ field_name: o.fieldName, ascending: o.ascending ?? true })),
    });
    const p = parseAs(z.object({ models: z.array(LoggedModelSchema).default([]), next_page_token: z.string().optional() }), r, "logged-models/search");
    return { items: p.models, nextPageToken: p.next_page_token || undefined };
  }

  async *iterateLoggedModels(opts: { experimentIds: readonly string[]; filter?: string; maxResults?: number }): AsyncGenerator<LoggedModel> {
    yield* paginate((pageToken) => this.searchLoggedModels({ ...opts, ...(pageToken ? { pageToken } : {}) }));
  }
}
