// The embedded server's model repository: several versions per model, latest-by-number is the default,
// and loading an existing name+version hot-swaps it (new session in, atomic switch, old one drained then freed).
import { NotFoundError } from "../../errors.ts";
import { LoadedModel, type LoadOptions } from "./loaded-model.ts";

const byVersion = (a: string, b: string): number => {
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
};

export class ModelRepository {
  readonly #models = new Map<string, Map<string, LoadedModel>>();

  /** Load (or hot-swap) a version. Requests already running on the old session finish on it. */
  async load(opts: LoadOptions): Promise<LoadedModel> {
    const fresh = await LoadedModel.load(opts);
    let versions = this.#models.get(opts.name);
    if (!versions) {
      versions = new Map();
      this.#models.set(opts.name, versions);
    }
    const old = versions.get(opts.version);
    versions.set(opts.version, fresh);
    if (old) await old.retire();
    return fresh;
  }

  /** Unload one version, or every version of the model. In-flight requests finish first. */
  async unload(name: string, version?: string): Promise<void> {
    const versions = this.#models.get(name);
    if (!versions) return;
    const doomed = version === undefined ? [...versions.keys()] : [version];
    const retiring: Promise<void>[] = [];
    for (const v of doomed) {
      const m = versions.get(v);
      versions.delete(v);
      if (m) retiring.push(m.retire());
    }
    if (versions.size === 0) this.#models.delete(name);
    await Promise.all(retiring);
  }

  names(): string[] {
    return [...this.#models.keys()].sort();
  }

  versions(name: string): string[] {
    return [...(this.#models.get(name)?.keys() ?? [])].sort(byVersion);
  }

  /** The named version, or the default (latest) one. */
  get(name: string, version?: string): LoadedModel | undefined {
    const versions = this.#models.get(name);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    // The highest version in one pass (every request without a version asks: no array, no sort).
    let latest: string | undefined;
    for (const v of versions.keys()) if (latest === undefined || byVersion(v, latest) > 0) latest = v;
    return latest === undefined ? undefined : versions.get(latest);
  }

  /** Run fn on the model while holding it, so a concurrent hot-swap waits for this request. */
  async use<T>(name: string, version: string | undefined, fn: (m: LoadedModel) => Promise<T>): Promise<T> {
    for (;;) {
      const m = this.get(name, version);
      if (!m) {
        const what = version === undefined ? `model ${name}` : `model ${name} version ${version}`;
        throw new NotFoundError(`${what} is not loaded`);
      }
      if (!m.acquire()) continue;
      try {
        return await fn(m);
      } finally {
        m.release();
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.names().map((n) => this.unload(n)));
  }
}
