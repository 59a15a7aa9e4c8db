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

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "accuracy-rule-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("ModelAccuracyDropped", () => {
  it("fires after `for` when live accuracy < 0.8 with >= 20 labels, not with too few labels (promtool test rules)", () => {
    const test = {
      rule_files: [path.join(root, "manifests/prometheus/rules.yml")],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            { series: 'flywheel_model_live_accuracy{model="iris",version="1",instance="a"}', values: "0.95 0.5x10" },
            { series: 'flywheel_model_live_accuracy_samples{model="iris",version="1",instance="a"}', values: "30x11" },
            { series: 'flywheel_model_live_accuracy{model="wine",version="2",instance="a"}', values: "0.1x11" },
            { series: 'flywheel_model_live_accuracy_samples{model="wine",version="2",instance="a"}', values: "5x11" },
          ],
          alert_rule_test: [
            { eval_time: "3m", alertname: "ModelAccuracyDropped", exp_alerts: [] },
            {
              eval_time: "7m",
              alertname: "ModelAccuracyDropped",
              exp_alerts: [
                {
                  exp_labels: { model: "iris", version: "1", severity: "warning", flywheel_action: "retrain" },
                  exp_annotations: {
                    summary: "Model iris version 1 is less accurate on feedback",
                    description:
                      "The live accuracy of iris version 1 over its latest feedback labels has been below 0.8 for 5m (now 0.500). retrain-on-drift retrains it on the labelled feedback.",
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
    const r = spawnSync("promtool", ["test", "rules", f], { encoding: "utf8" });
    if (r.error) throw new Error("promtool not found: install the Debian package prometheus");
    expect(`${r.stdout}${r.stderr}`).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("is one of the alert names retrain-on-drift acts on by default", () => {
    expect(parsePolicies(DEFAULT_POLICIES_YAML).forModel("iris").retrain.alertnames).toContain("ModelAccuracyDropped");
  });
});
