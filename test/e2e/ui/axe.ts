// axe-core run inside Debian Chromium on the current page: violations grouped by impact, written for the report.
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { SHOTS } from "../../support/ui-browser.ts";

export interface AxeViolation {
  readonly id: string;
  readonly impact: string;
  readonly help: string;
  readonly nodes: number;
  readonly targets: readonly string[];
}

const AXE = path.resolve("node_modules/axe-core/axe.min.js");

/** Inject axe-core (from node_modules, no CDN) and run every WCAG 2.x A/AA rule on the page as it is now. */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  if (!fs.existsSync(AXE)) throw new Error("axe-core is missing from node_modules (npm package axe-core)");
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    interface AxeResult { violations: { id: string; impact?: string | null; help: string; nodes: { target: unknown[] }[] }[] }
    const axe = (window as unknown as { axe: { run(ctx: Document, o: unknown): Promise<AxeResult> } }).axe;
    const r = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact ?? "minor", help: v.help, nodes: v.nodes.length, targets: v.nodes.slice(0, 5).map((n) => n.target.map(String).join(" ")) }));
  });
}

/** Per-page violations, summed by impact, written to test-results/ui/axe.json. */
export class AxeReport {
  readonly pages: Record<string, AxeViolation[]> = {};
  add(name: string, v: AxeViolation[]): void {
    this.pages[name] = v;
  }
  totals(): Record<string, number> {
    const t: Record<string, number> = { critical: 0, serious: 0, moderate: 0, minor: 0 };
    for (const list of Object.values(this.pages)) for (const v of list) t[v.impact] = (t[v.impact] ?? 0) + v.nodes;
    return t;
  }
  write(file: string): void {
    fs.mkdirSync(SHOTS, { recursive: true });
    fs.writeFileSync(path.join(SHOTS, file), JSON.stringify({ totals: this.totals(), pages: this.pages }, null, 2) + "\n");
  }
  /** Serious and critical violations, one line each, for the assertion message. */
  blocking(): string[] {
    return Object.entries(this.pages).flatMap(([p, list]) => list.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${p}: ${v.id} (${v.impact}, ${v.nodes}) ${v.help} ${v.targets.join(", ")}`));
  }
}
