// The fair comparison: champion and candidate scored on the same data, the candidate's recent labelled holdout
// (holdout.csv next to its model). The champion is downloaded from the registry and scored by the same evaluator.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { GateEvaluation } from "../../platform/events/index.ts";
import { errorFields } from "../../platform/log.ts";
import { MlflowModelRegistry } from "../../platform/mlflow/index.ts";
import { findModelDir } from "../../platform/serving/mlmodel.ts";
import type { LogModelDeps } from "./deps.ts";
import { evaluatorFor, readHoldout } from "./evaluate.ts";
import type { TrainingOutputs } from "./outputs.ts";

/** Scores on the holdout, or undefined (the gate then compares recorded metrics, and says so). */
export async function fairScores(
  deps: LogModelDeps,
  model: string,
  out: TrainingOutputs | undefined,
  champion: { version: string; flavor: string | undefined } | undefined,
): Promise<GateEvaluation | undefined> {
  if (!out?.modelDir) return undefined;
  const file = path.join(out.dir, "holdout.csv");
  if (!fs.existsSync(file)) return undefined;
  const policy = deps.policies.forModel(model).gate;
  const evaluator = evaluatorFor(out.flavor, policy.evaluators, deps.onnx);
  if (!evaluator) {
    deps.log.info("log-model: no evaluator for this flavor; the gate compares recorded metrics", { model, flavor: out.flavor });
    return undefined;
  }
  const holdout = readHoldout(file);
  const source = readSource(out.dir);
  const candidate = await evaluator.accuracy(out.modelDir, holdout);
  let championScore: number | null = null;
  if (champion) {
    if (champion.flavor && champion.flavor !== out.flavor && !policy.evaluators[champion.flavor]) {
      deps.log.warn("log-model: champion has another flavor with no evaluator; not scored", { model, flavor: champion.flavor });
    } else {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-gate-"));
      try {
        const registry = new MlflowModelRegistry(deps.mlflow);
        await registry.downloadModel(await registry.getModelVersion(model, champion.version), dir);
        const champEval = evaluatorFor(champion.flavor ?? out.flavor, policy.evaluators, deps.onnx) ?? evaluator;
        championScore = await champEval.accuracy(findModelDir(dir), holdout);
      } catch (e) {
        // Without the champion's score the gate must not pretend to be fair: it rejects (see gate.ts).
        deps.log.warn("log-model: champion could not be scored on the holdout", { model, version: champion.version, ...errorFields(e) });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return { metric: "accuracy", method: evaluator.method, dataset: source.dataset, source: source.source, rows: holdout.rows.length, candidate, champion: championScore, championVersion: champion?.version ?? null };
}

function readSource(dir: string): { dataset: string; source: string } {
  try {
    const used = JSON.parse(fs.readFileSync(path.join(dir, "data.json"), "utf8")) as { holdout?: { source?: string }; window?: { from?: string; to?: string; uri?: string } };
    const w = used.window;
    const src = used.holdout?.source ?? "unknown";
    return { source: src, dataset: src === "window" && w ? `labelled feedback ${w.from ?? "?"} .. ${w.to ?? "?"} (holdout of ${w.uri ?? "window"})` : "holdout of the base dataset" };
  } catch {
    return { source: "unknown", dataset: "holdout.csv" };
  }
}
