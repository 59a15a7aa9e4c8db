// The shipped ModelAccuracyDropped rule: promtool passes it, it fires only with enough labels, and retrain-on-drift
// takes it by default.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { parsePolicies, DEFAULT_POLICIES_YAML } from "../../../platform/policies/index.ts";
import { requireTool } from "../../support/require-binary.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "accuracy-rule-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("ModelAccuracyDropped", () => {
  it("sums every replica's feedback counters (a reset included) into live accuracy, fires below 0.8 with >= 20 labels only (promtool test rules)", () => {
    const s = (model: string, version: string, outcome: string, instance: string) => `flywheel_model_feedback_total{model="${model}",version="${version}",outcome="${outcome}",instance="${instance}"}`;
    const test = {
      rule_files: [path.join(root, "manifests/prometheus/rules.yml")],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            // iris v1 over two replicas; replica b restarts at 11m (counter reset).
            { series: s("iris", "1", "correct", "a"), values: "0+2x30" },
            { series: s("iris", "1", "incorrect", "a"), values: "0+3x30" },
            { series: s("iris", "1", "correct", "b"), values: "0+1x10 0+1x19" },
            { series: s("iris", "1", "incorrect", "b"), values: "0+2x30" },
            // Accurate: no alert.
            { series: s("good", "1", "correct", "a"), values: "0+10x30" },
            { series: s("good", "1", "incorrect", "a"), values: "0+1x30" },
            // Inaccurate but too few labels (6 in 30 min): no alert.
            { series: s("wine", "2", "correct", "a"), values: "0x30" },
            { series: s("wine", "2", "incorrect", "a"), values: "0+0.2x30" },
          ],
          promql_expr_test: [
            // (40 + 19) correct of (40 + 19 + 60 + 40) labels at 20m; series that start at 0 are not extrapolated.
            { expr: 'flywheel:model_live_accuracy:1h{model="iris"}', eval_time: "20m", exp_samples: [{ labels: 'flywheel:model_live_accuracy:1h{model="iris",version="1"}', value: 59 / 159 }] },
            { expr: 'flywheel:model_live_accuracy:1h{model="wine"}', eval_time: "20m", exp_samples: [{ labels: 'flywheel:model_live_accuracy:1h{model="wine",version="2"}', value: 0 }] },
          ],
          alert_rule_test: [
            { eval_time: "3m", alertname: "ModelAccuracyDropped", exp_alerts: [] },
            {
              eval_time: "20m",
              alertname: "ModelAccuracyDropped",
              exp_alerts: [
                {
                  exp_labels: { model: "iris", version: "1", severity: "warning", flywheel_action: "retrain" },
                  exp_annotations: {
                    summary: "Model iris version 1 is less accurate on feedback",
                    description:
                      "The live accuracy of iris version 1 over its feedback labels of the last 1h (every replica) has been below 0.8 for 5m (now 0.371). retrain-on-drift retrains it on the labelled feedback.",
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const f = path.join(tmp, "test.yml");
    fs.writeFileSync(f, YAML.stringify(test));
    const r = spawnSync(requireTool("promtool"), ["test", "rules", f], { encoding: "utf8" });
    expect(`${r.stdout}${r.stderr}`).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("is one of the alert names retrain-on-drift acts on by default", () => {
    expect(parsePolicies(DEFAULT_POLICIES_YAML).forModel("iris").retrain.alertnames).toContain("ModelAccuracyDropped");
  });
});
