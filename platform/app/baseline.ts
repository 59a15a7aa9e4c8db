// Drift baselines from the registry: the version's run holds baseline.json (tag flywheel.baseline_artifact).
import { parseBaseline, type Baseline } from "../drift/index.ts";
import { TAG } from "../lineage.ts";
import { ARTIFACT_SCHEME, type MlflowClient, proxyPathOf } from "../mlflow/index.ts";
import type { ModelRegistry } from "../ports.ts";

export function registryBaselineLoader(registry: ModelRegistry, mlflow: MlflowClient): (model: string, version: string) => Promise<Baseline | undefined> {
  return async (model, version) => {
    const v = await registry.getModelVersion(model, version);
    const rel = v.tags[TAG.baseline];
    if (!rel || !v.runId) return undefined;
    const run = await mlflow.getRun(v.runId);
    const root = run.info.artifact_uri;
    if (!root.startsWith(ARTIFACT_SCHEME)) return undefined;
    const bytes = await mlflow.getArtifact(`${proxyPathOf(root)}/${rel}`);
    return parseBaseline(JSON.parse(bytes.toString("utf8")));
  };
}
