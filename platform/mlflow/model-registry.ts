// MlflowModelRegistry: the ModelRegistry port (platform/ports.ts) on top of the MLflow client, including model download.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/index.ts";
import { ValidationError } from "../errors.ts";
import type { ModelRegistry, ModelVersionInfo } from "../ports.ts";
import { ARTIFACT_SCHEME, MlflowClient } from "./client.ts";
import { isNotFound } from "./errors.ts";
import { quote, tagsOf, type ModelVersion } from "./schemas.ts";
import type { FetchLike } from "./transport.ts";
import { trimTrailingSlashes } from "../slashes.ts";

export function toVersionInfo(v: ModelVersion): ModelVersionInfo {
  return {
    name: v.name,
    version: v.version,
    runId: v.run_id || undefined,
    source: v.source,
    status: v.status,
    tags: tagsOf(v.tags),
    aliases: v.aliases,
    creationTimestamp: v.creation_timestamp,
    description: v.description,
  };
}

export class MlflowModelRegistry implements ModelRegistry {
  constructor(readonly client: MlflowClient) {}

  /** Build from config; `fetch` lets embedded mode call the in-process server. */
  static fromConfig(config: Config, fallbackUri: string, fetchImpl?: FetchLike): MlflowModelRegistry {
    return new MlflowModelRegistry(MlflowClient.fromConfig(config, config.registry.trackingUri ?? fallbackUri, fetchImpl));
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersionInfo> {
    return toVersionInfo(await this.client.getModelVersion(name, version));
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo> {
    return toVersionInfo(await this.client.getModelVersionByAlias(name, alias));
  }

  async findVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo | undefined> {
    try {
      const v = await this.client.findModelVersionByAlias(name, alias);
      return v ? toVersionInfo(v) : undefined;
    } catch (e) {
      // registered-models/get answers a missing model with 404 RESOURCE_DOES_NOT_EXIST: no model, no alias.
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async searchModelVersions(name: string): Promise<ModelVersionInfo[]> {
    const out: ModelVersionInfo[] = [];
    for await (const v of this.client.iterateModelVersions({ filter: `name = ${quote(name)}` })) out.push(toVersionInfo(v));
    return out;
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.client.setAlias(name, alias, version);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.client.deleteAlias(name, alias);
  }

  /** Fetch the files behind a version into destDir: through the artifacts proxy, or copied from a local file: source. */
  async downloadModel(version: ModelVersionInfo, destDir: string): Promise<string> {
    const uri = await this.client.getModelVersionDownloadUri(version.name, version.version);
    await this.fetchUri(uri, destDir, 0);
    return destDir;
  }

  private async fetchUri(uri: string, destDir: string, depth: number): Promise<void> {
    if (depth > 3) throw new ValidationError([{ field: "source", message: `model source ${uri} does not resolve to files` }]);
    fs.mkdirSync(destDir, { recursive: true });
    if (uri.startsWith(ARTIFACT_SCHEME)) {
      await this.client.downloadArtifacts(uri, destDir);
      return;
    }
    if (uri.startsWith("file:") || path.isAbsolute(uri)) {
      const local = uri.startsWith("file:") ? fileURLToPath(uri) : uri;
      fs.cpSync(local, destDir, { recursive: true, dereference: true });
      return;
    }
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    if (runs) {
      const run = await this.client.getRun(runs[1] ?? "");
      const sub = trimTrailingSlashes(runs[2] ?? "");
      await this.fetchUri(sub ? `${trimTrailingSlashes(run.info.artifact_uri)}/${sub}` : run.info.artifact_uri, destDir, depth + 1);
      return;
    }
    const models = /^models:\/(m-[0-9a-f]+)$/.exec(uri);
    if (models) {
      const lm = await this.client.getLoggedModel(models[1] ?? "");
      await this.fetchUri(lm.info.artifact_uri, destDir, depth + 1);
      return;
    }
    throw new ValidationError([{ field: "source", message: `cannot download model source with scheme of ${uri.split(":")[0] ?? uri}` }]);
  }
}
