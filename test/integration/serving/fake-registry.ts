// An in-memory ModelRegistry (our port, not MLflow) over a temp dir: versions point at local artifact dirs.
import fs from "node:fs";
import { NotFoundError } from "../../../platform/errors.ts";
import type { ModelRegistry, ModelVersionInfo } from "../../../platform/ports.ts";

export class FakeRegistry implements ModelRegistry {
  readonly versions = new Map<string, ModelVersionInfo[]>();
  readonly aliases = new Map<string, Map<string, string>>();
  downloads = 0;

  add(name: string, version: string, dir: string, tags: Record<string, string> = {}): ModelVersionInfo {
    const info: ModelVersionInfo = { name, version, runId: `run-${version}`, source: dir, status: "READY", tags, aliases: [], creationTimestamp: Number(version) };
    this.versions.set(name, [...(this.versions.get(name) ?? []), info]);
    return info;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersionInfo> {
    const v = this.versions.get(name)?.find((x) => x.version === version);
    if (!v) throw new NotFoundError(`RESOURCE_DOES_NOT_EXIST: model version ${name}/${version}`);
    return { ...v, aliases: [...(this.aliases.get(name)?.entries() ?? [])].filter(([, ver]) => ver === version).map(([a]) => a) };
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo> {
    const version = this.aliases.get(name)?.get(alias);
    if (!version) throw new NotFoundError(`RESOURCE_DOES_NOT_EXIST: alias ${alias} of ${name}`);
    return this.getModelVersion(name, version);
  }

  async findVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo | undefined> {
    const version = this.aliases.get(name)?.get(alias);
    return version ? this.getModelVersion(name, version) : undefined;
  }

  async searchModelVersions(name: string): Promise<ModelVersionInfo[]> {
    return [...(this.versions.get(name) ?? [])];
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.getModelVersion(name, version);
    let m = this.aliases.get(name);
    if (!m) this.aliases.set(name, (m = new Map()));
    m.set(alias, version);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    this.aliases.get(name)?.delete(alias);
  }

  async downloadModel(version: ModelVersionInfo, destDir: string): Promise<string> {
    this.downloads++;
    fs.cpSync(version.source, destDir, { recursive: true });
    return destDir;
  }
}
