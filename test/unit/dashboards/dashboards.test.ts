// Dashboards: committed JSON equals the generator's; every metric in every panel's PromQL is registered by the code;
// every metric the code registers is on a dashboard or listed as internal; every expression parses (promtool).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../../../platform/metrics.ts";
import { DASHBOARDS_DIR, renderDashboards } from "../../../platform/telemetry/dashboards/generate.ts";
import { requireTool } from "../../support/require-binary.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SOURCE_DIRS = ["platform", "functions", "triggers", "pages"];

/** Series Prometheus makes itself, not the code. */
const PROMETHEUS_BUILTINS = new Set(["ALERTS", "ALERTS_FOR_STATE", "up"]);

/** Metrics the code exports that no dashboard shows, on purpose (process internals; Grafana's Node.js dashboards cover them). */
const INTERNAL = new Set([
  "flywheel_process_cpu_user_seconds_total",
  "flywheel_process_cpu_system_seconds_total",
  "flywheel_process_cpu_seconds_total",
  "flywheel_process_start_time_seconds",
  "flywheel_process_open_fds",
  "flywheel_process_max_fds",
  "flywheel_process_virtual_memory_bytes",
  "flywheel_process_heap_bytes",
  "flywheel_nodejs_eventloop_lag_seconds",
  "flywheel_nodejs_eventloop_lag_min_seconds",
  "flywheel_nodejs_eventloop_lag_max_seconds",
  "flywheel_nodejs_eventloop_lag_mean_seconds",
  "flywheel_nodejs_eventloop_lag_stddev_seconds",
  "flywheel_nodejs_eventloop_lag_p50_seconds",
  "flywheel_nodejs_eventloop_lag_p90_seconds",
  "flywheel_nodejs_active_resources",
  "flywheel_nodejs_active_resources_total",
  "flywheel_nodejs_active_handles",
  "flywheel_nodejs_active_handles_total",
  "flywheel_nodejs_active_requests",
  "flywheel_nodejs_active_requests_total",
  "flywheel_nodejs_heap_size_total_bytes",
  "flywheel_nodejs_heap_size_used_bytes",
  "flywheel_nodejs_external_memory_bytes",
  "flywheel_nodejs_heap_space_size_total_bytes",
  "flywheel_nodejs_heap_space_size_used_bytes",
  "flywheel_nodejs_heap_space_size_available_bytes",
  "flywheel_nodejs_version_info",
  "flywheel_nodejs_gc_duration_seconds",
]);

interface CodeMetric {
  readonly name: string;
  readonly type: string;
  readonly file: string;
}

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Metrics registered by the code: a static scan of prom-client constructors plus the default metrics of the factory. */
function codeMetrics(): CodeMetric[] {
  const out: CodeMetric[] = [];
  for (const file of SOURCE_DIRS.flatMap((d) => sourceFiles(path.join(ROOT, d)))) {
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\b/g)) {
      const window = text.slice(m.index, m.index + 400);
      const name = /name:\s*["'`]([a-zA-Z_:][a-zA-Z0-9_:]*)["'`]/.exec(window);
      if (name?.[1]) out.push({ name: name[1], type: m[1]!.toLowerCase(), file: path.relative(ROOT, file) });
    }
  }
  const registry = createMetricsRegistry({ service: "t" });
  for (const m of registry.getMetricsAsArray()) out.push({ name: m.name, type: String(m.type), file: "platform/metrics.ts (default metrics)" });
  return out;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string }[];
}
const dashboards = [...renderDashboards()].map(([file, text]) => ({ file, json: JSON.parse(text) as { uid: string; panels: Panel[] } }));
const exprs = dashboards.flatMap((d) => d.json.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.file}: ${p.title}`, expr: t.expr }))));

/** Metric names in a PromQL expression: identifiers not followed by "(" that are not labels, keywords or durations. */
function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"[^"]*"/g, '""');
  const noMatchers = noStrings.replace(/\{[^}]*\}/g, "{}");
  const noGrouping = noMatchers.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  return [...noGrouping.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((n) => !["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool"].includes(n))
    .filter((n) => !/^\d/.test(n) && !/^[0-9.]+[smhdwy]$/.test(n) && !/^(s|m|h|d|w|y)$/.test(n));
}

describe("dashboards", () => {
  const metrics = codeMetrics();
  const known = new Map(metrics.map((m) => [m.name, m]));
  const seriesOf = (name: string): string | undefined => {
    if (known.has(name)) return name;
    const base = name.replace(/_(bucket|sum|count)$/, "");
    const m = known.get(base);
    return m && (m.type === "histogram" || m.type === "summary") ? base : undefined;
  };

  it("are committed as the generator writes them (npx tsx platform/telemetry/dashboards/generate.ts)", () => {
    for (const d of dashboards) expect(fs.readFileSync(path.join(DASHBOARDS_DIR, d.file), "utf8"), d.file).toBe(renderDashboards().get(d.file));
    expect(fs.readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith(".json")).sort()).toEqual(["broker.json", "drift.json", "functions.json", "inference.json", "training.json"]);
  });

  it("finds the code's metrics (sanity: the scan sees the known registries)", () => {
    for (const n of ["flywheel_function_invocations_total", "flywheel_broker_deliveries_total", "flywheel_inference_request_duration_seconds", "flywheel_model_drift_score"]) {
      expect(known.has(n), n).toBe(true);
    }
    expect(metricNames('sum by (le, model) (rate(flywheel_x_bucket{model=~"$model"}[5m])) / ignoring(candidate) group_left sum(up)')).toEqual(["flywheel_x_bucket", "up"]);
  });

  it("use only metric names the code registers (or Prometheus' own series)", () => {
    const unknown = exprs.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !PROMETHEUS_BUILTINS.has(n) && !seriesOf(n)).map((n) => `${where}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it("show every metric the code exports, or list it as internal", () => {
    const used = new Set(exprs.flatMap(({ expr }) => metricNames(expr).map((n) => seriesOf(n) ?? n)));
    const missing = metrics.filter((m) => !used.has(m.name) && !INTERNAL.has(m.name)).map((m) => `${m.name} (${m.file})`);
    expect([...new Set(missing)]).toEqual([]);
    for (const n of INTERNAL) expect(known.has(n) || n.startsWith("flywheel_nodejs_"), `stale internal entry ${n}`).toBe(true);
  });

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
