// Dashboards: committed JSON equals the generator's; ids are unique; every expression parses (promtool). Series
// against live expositions of both modes: test/integration/telemetry/dashboards-live.test.ts.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { DASHBOARDS_DIR, renderDashboards } from "../../../platform/telemetry/dashboards/generate.ts";
import { requireTool } from "../../support/require-binary.ts";

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string }[];
}
const dashboards = [...renderDashboards()].map(([file, text]) => ({ file, json: JSON.parse(text) as { uid: string; panels: Panel[] } }));
const exprs = dashboards.flatMap((d) => d.json.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.file}: ${p.title}`, expr: t.expr }))));

describe("dashboards", () => {
  it("are committed as the generator writes them (npx tsx platform/telemetry/dashboards/generate.ts)", () => {
    for (const d of dashboards) expect(fs.readFileSync(path.join(DASHBOARDS_DIR, d.file), "utf8"), d.file).toBe(renderDashboards().get(d.file));
    expect(fs.readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith(".json")).sort()).toEqual(["broker.json", "drift.json", "functions.json", "inference.json", "platform.json", "training.json"]);
  });

  // Whether each panel's series exist in the mode it claims is checked against live expositions:
  // test/integration/telemetry/dashboards-live.test.ts.

  it("have unique uids and panel ids and a Prometheus datasource variable", () => {
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
    for (const d of dashboards) {
      const ids = d.json.panels.map((p) => p.id);
      expect(new Set(ids).size, d.file).toBe(ids.length);
      expect(JSON.stringify(d.json)).toContain('"uid":"${datasource}"');
    }
  });

  it("parse as PromQL (promtool check rules)", () => {
    const promtool = requireTool("promtool");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-dash-"));
    try {
      // Grafana variables are not PromQL: give them a value the way Grafana would.
      const rules = exprs.map((e, i) => ({ record: `flywheel:dashboard_check:${i}`, expr: e.expr.replaceAll("$", "").replace(/=~"(model|version|function|trigger)"/g, '=~".*"') }));
      const file = path.join(dir, "rules.yml");
      fs.writeFileSync(file, YAML.stringify({ groups: [{ name: "dashboards", rules }] }));
      const r = spawnSync(promtool, ["check", "rules", file], { encoding: "utf8" });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
