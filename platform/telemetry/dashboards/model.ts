// A small builder for Grafana dashboard JSON (schemaVersion 39): Prometheus datasource variable, rows of panels.

/** Where a panel's series exist: embedded (`flywheel up`) and/or Knative (one process per function). */
export const MODES = ["embedded", "knative"] as const;
export type Mode = (typeof MODES)[number];

export interface Target {
  readonly expr: string;
  readonly legend?: string;
}

export interface PanelSpec {
  readonly title: string;
  readonly type?: "timeseries" | "stat" | "table" | "bargauge";
  readonly unit?: string;
  readonly description?: string;
  readonly targets: readonly Target[];
  /** Width in grid units (24 = full). Default 12. */
  readonly w?: number;
  readonly stacked?: boolean;
  /** Modes whose expositions carry this panel's series (default both). A mode-specific panel says so in its description. */
  readonly modes?: readonly Mode[];
  /** A configuration without which the panel stays empty (e.g. "FLYWHEEL_KAFKA_BROKERS is set"); said in its description. */
  readonly when?: string;
}

const MODE_NOTE: Record<Mode, string> = {
  embedded: "Embedded mode only (flywheel up): a cluster has no such series.",
  knative: "Knative mode only: the embedded platform has no such series.",
};

/** The panel's description, with the mode note when it is mode-specific. */
export function panelDescription(p: PanelSpec): string | undefined {
  const modes = p.modes ?? MODES;
  const note = modes.length === 1 && modes[0] ? MODE_NOTE[modes[0]] : undefined;
  return [p.description, note, p.when ? `Only when ${p.when}.` : undefined].filter(Boolean).join(" ") || undefined;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Label variables: name -> [metric, label]. */
  readonly variables?: Readonly<Record<string, readonly [string, string]>>;
  readonly rows: readonly { readonly title: string; readonly panels: readonly PanelSpec[] }[];
}

const DS = { type: "prometheus", uid: "${datasource}" };

export function dashboard(spec: DashboardSpec): Record<string, unknown> {
  let id = 1;
  let y = 0;
  const panels: Record<string, unknown>[] = [];
  for (const row of spec.rows) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    for (const p of row.panels) {
      const w = p.w ?? 12;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: p.type ?? "timeseries",
        title: p.title,
        ...(panelDescription(p) ? { description: panelDescription(p) } : {}),
        datasource: DS,
        gridPos: { x, y, w, h: 8 },
        fieldConfig: {
          defaults: {
            unit: p.unit ?? "short",
            ...(p.type === undefined || p.type === "timeseries"
              ? { custom: { drawStyle: "line", lineWidth: 1, fillOpacity: p.stacked ? 30 : 10, stacking: { mode: p.stacked ? "normal" : "none" } } }
              : {}),
          },
          overrides: [],
        },
        options: { legend: { showLegend: true, displayMode: "table", placement: "bottom", calcs: ["mean", "max", "lastNotNull"] }, tooltip: { mode: "multi" } },
        targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DS, expr: t.expr, legendFormat: t.legend ?? "__auto", range: true })),
      });
      x += w;
    }
    y += 8;
  }
  const variables = Object.entries(spec.variables ?? {}).map(([name, [metric, label]]) => ({
    name,
    label: name,
    type: "query",
    datasource: DS,
    query: { query: `label_values(${metric}, ${label})`, refId: `${name}-values` },
    definition: `label_values(${metric}, ${label})`,
    includeAll: true,
    multi: true,
    allValue: ".*",
    current: { selected: true, text: ["All"], value: ["$__all"] },
    refresh: 2,
    sort: 1,
  }));
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ["flywheel"],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    timezone: "browser",
    templating: {
      list: [{ name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", current: {}, hide: 0 }, ...variables],
    },
    annotations: { list: [] },
    panels,
  };
}

/** histogram_quantile over a histogram, per the given labels. */
export function quantiles(metric: string, by: string, selector = "", window = "5m"): Target[] {
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket${selector}[${window}])))`,
    legend: `p${q * 100} {{${by.split(",")[0]!.trim()}}}${by.includes(",") ? ` {{${by.split(",")[1]!.trim()}}}` : ""}`,
  }));
}
