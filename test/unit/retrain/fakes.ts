// Test doubles for retrain-on-drift: a ModelRegistry port fake (aliases, tags, NotFound like the MLflow client) and a bus.
import { NotFoundError, UpstreamError } from "../../../platform/errors.ts";
import type { AnyCloudEvent } from "../../../platform/events/index.ts";
import { TAG } from "../../../platform/lineage.ts";
import type { EventBus, ModelRegistry, ModelVersionInfo } from "../../../platform/ports.ts";
import type { TrainingSpecInput } from "../../../platform/specs/training.ts";

export class FakeRegistry implements ModelRegistry {
  readonly versions: ModelVersionInfo[] = [];
  calls = 0;
  down = false;
  /** Resolve alias lookups only after this promise settles (to interleave concurrent handlers). */
  gate: Promise<void> | undefined;

  addVersion(name: string, spec: TrainingSpecInput | undefined, aliases: string[] = ["champion"], extraTags: Record<string, string> = {}): ModelVersionInfo {
    const version = String(this.versions.filter((v) => v.name === name).length + 1);
    for (const v of this.versions) if (v.name === name) Object.assign(v, { aliases: v.aliases.filter((a) => !aliases.includes(a)) });
    const info: ModelVersionInfo = {
      name,
      version,
      runId: `run-${name}-${version}`,
      source: `mlflow-artifacts:/1/run-${name}-${version}/artifacts/model`,
      status: "READY",
      tags: { ...(spec ? { [TAG.trainingSpec]: JSON.stringify(spec) } : {}), ...extraTags },
      aliases,
      creationTimestamp: 1,
    };
    this.versions.push(info);
    return info;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersionInfo> {
    const v = this.versions.find((x) => x.name === name && x.version === version);
    if (!v) throw new NotFoundError(`RESOURCE_DOES_NOT_EXIST: ${name} v${version}`);
    return v;
  }
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo> {
    this.calls++;
    if (this.gate) await this.gate;
    if (this.down) throw new UpstreamError("registry unavailable", true);
    const v = this.versions.find((x) => x.name === name && x.aliases.includes(alias));
    if (!v) throw new NotFoundError(`RESOURCE_DOES_NOT_EXIST: alias ${alias} of ${name}`);
    return v;
  }
  async findVersionByAlias(name: string, alias: string): Promise<ModelVersionInfo | undefined> {
    this.calls++;
    if (this.gate) await this.gate;
    if (this.down) throw new UpstreamError("registry unavailable", true);
    return this.versions.find((x) => x.name === name && x.aliases.includes(alias));
  }
  async searchModelVersions(name: string): Promise<ModelVersionInfo[]> {
    return this.versions.filter((v) => v.name === name);
  }
  async setAlias(): Promise<void> {}
  async deleteAlias(): Promise<void> {}
  async downloadModel(): Promise<string> {
    throw new Error("not used");
  }
}

export class MemoryBus implements EventBus {
  readonly events: AnyCloudEvent[] = [];
  failNext = 0;
  readonly subscribers: ((e: AnyCloudEvent) => void | Promise<void>)[] = [];
  async emit(e: AnyCloudEvent): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new UpstreamError("broker ingress answered 503", true);
    }
    this.events.push(e);
    for (const s of this.subscribers) await s(e);
  }
  ofType(type: string): AnyCloudEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}

export const IRIS_SPEC: TrainingSpecInput = {
  kind: "single",
  model: "iris",
  experiment: "iris",
  command: ["npx", "tsx", "examples/iris-node/train.ts"],
  params: { epochs: "200", lr: "0.1" },
  timeoutSeconds: 600,
};
