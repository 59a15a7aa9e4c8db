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

/** A path's real location is inside one of roots (a missing path is judged by its nearest existing ancestor). */
function insideRoots(p: string, roots: readonly string[]): boolean {
  const within = (x: string, r: string): boolean => x === r || x.startsWith(r.endsWith(path.sep) ? r : r + path.sep);
  let existing = path.resolve(p);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const real = fs.realpathSync(existing);
  return roots.some((r) => within(path.resolve(p), path.resolve(r)) && fs.existsSync(r) && within(real, fs.realpathSync(r)));
}

/** A runs:/ sub-path is an artifact path: no traversal, encoded or not. */
const SAFE_SUB = (sub: string): boolean => !/%2e|%2f|%5c|\\|\0/i.test(sub) && !sub.split("/").some((s) => s === ".." || s === ".");

export class MlflowModelRegistry implements ModelRegistry {
  /** `localRoots`: the only directories a local (file:) model source is copied from; empty = none. */
  constructor(
    readonly client: MlflowClient,
    private readonly localRoots: readonly string[] = [],
  ) {}

  /** Build from config; `fetch` lets embedded mode call the in-process server. */
  static fromConfig(config: Config, fallbackUri: string, fetchImpl?: FetchLike): MlflowModelRegistry {
    return new MlflowModelRegistry(MlflowClient.fromConfig(config, config.registry.trackingUri ?? fallbackUri, fetchImpl), config.registry.artifactRoots);
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
      let local: string;
      try {
        local = uri.startsWith("file:") ? fileURLToPath(uri) : uri;
      } catch {
        throw new ValidationError([{ field: "source", message: `model source ${uri} is not a valid file: URI` }]);
      }
      // Checked again at use: the registry (embedded or not) may hold a source recorded before confinement existed.
      if (!insideRoots(local, this.localRoots)) {
        throw new ValidationError([{ field: "source", message: `local model source ${uri} is outside the artifact roots (FLYWHEEL_ARTIFACT_ROOTS)` }]);
      }
      fs.cpSync(local, destDir, { recursive: true, dereference: true });
      return;
    }
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    if (runs) {
      const run = await this.client.getRun(runs[1] ?? "");
      const sub = trimTrailingSlashes(runs[2] ?? "");
      if (!SAFE_SUB(sub)) throw new ValidationError([{ field: "source", message: `model source ${uri} leaves the run's artifact directory` }]);
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
