// Persists the embedded backend's deployments (spec, resolved models, status) as JSON under the data dir,
// so they come back after a restart. Writes are atomic (temp file + rename).
import fs from "node:fs";
import path from "node:path";
import type { ApplyContext, DeploymentStatus } from "../../ports.ts";
import type { DeploymentSpec } from "../../specs/deployment.ts";

export interface StoredDeployment {
  readonly spec: DeploymentSpec;
  readonly ctx: ApplyContext;
  readonly status: DeploymentStatus;
}

export class DeploymentStore {
  readonly #file: string | undefined;

  /** dir undefined = memory only (tests). */
  constructor(dir: string | undefined) {
    this.#file = dir ? path.join(dir, "deployments.json") : undefined;
  }

  load(): StoredDeployment[] {
    if (!this.#file || !fs.existsSync(this.#file)) return [];
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(this.#file, "utf8"));
      return Array.isArray(parsed) ? (parsed as StoredDeployment[]) : [];
    } catch {
      return [];
    }
  }

  save(all: readonly StoredDeployment[]): void {
    if (!this.#file) return;
    fs.mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(all, null, 2));
    fs.renameSync(tmp, this.#file);
  }
}
