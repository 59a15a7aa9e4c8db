// Resolves a registry model version for serving: looks it up through the ModelRegistry port, downloads it once per
// version into the work dir, and reads MLmodel (flavors, signature, labels, requirements), falling back to lineage tags.
import fs from "node:fs";
import path from "node:path";
import { NotFoundError } from "../../platform/errors.ts";
import { TAG } from "../../platform/lineage.ts";
import type { ModelRegistry, ModelSignature, ModelVersionInfo, ResolvedModel } from "../../platform/ports.ts";
import { resolveModelDir } from "../../platform/serving/mlmodel.ts";

export interface VersionSelector {
  readonly version?: string | undefined;
  readonly alias?: string | undefined;
}

/** version, else alias, else the champion alias, else the newest version. */
export async function findVersion(registry: ModelRegistry, model: string, sel: VersionSelector): Promise<ModelVersionInfo> {
  if (sel.version) return registry.getModelVersion(model, sel.version);
  if (sel.alias) return registry.getModelVersionByAlias(model, sel.alias);
  // No champion yet (read from the model's aliases): the newest version.
  const champion = await registry.findVersionByAlias(model, "champion");
  if (champion) return champion;
  const all = await registry.searchModelVersions(model);
  const newest = [...all].sort((a, b) => Number(b.version) - Number(a.version))[0];
  if (!newest) throw new NotFoundError(`registered model ${model} has no versions`);
  return newest;
}

function jsonTag<T>(tags: Readonly<Record<string, string>>, key: string, guard: (v: unknown) => v is T): T | undefined {
  const raw = tags[key];
  if (!raw) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return guard(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isSignature = (v: unknown): v is ModelSignature =>
  Boolean(v) && typeof v === "object" && Array.isArray((v as ModelSignature).inputs) && Array.isArray((v as ModelSignature).outputs);

/** Download (skipped when already there: a replayed event finds it) and describe one version. */
export async function resolveVersion(registry: ModelRegistry, info: ModelVersionInfo, workDir: string): Promise<ResolvedModel> {
  const dest = path.join(workDir, "models", encodeURIComponent(info.name), info.version);
  const marker = path.join(dest, ".complete");
  if (!fs.existsSync(marker)) {
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(dest, { recursive: true });
    await registry.downloadModel(info, dest);
    fs.writeFileSync(marker, new Date().toISOString());
  }
  const resolved = resolveModelDir(info.name, info.version, dest, info.source);
  const labels = resolved.labels ?? jsonTag(info.tags, TAG.labels, isStringArray);
  const signature = resolved.signature ?? jsonTag(info.tags, TAG.signature, isSignature);
  const flavorTag = info.tags[TAG.flavor];
  return {
    ...resolved,
    flavors: resolved.flavors.length ? resolved.flavors : flavorTag ? [flavorTag] : [],
    ...(labels ? { labels } : {}),
    ...(signature ? { signature } : {}),
  };
}
