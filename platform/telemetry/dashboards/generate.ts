// Writes dashboards/<name>.json from definitions.ts (committed; a test checks they match). Run:
// npx tsx platform/telemetry/dashboards/generate.ts
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DASHBOARDS } from "./definitions.ts";
import { dashboard } from "./model.ts";

export const DASHBOARDS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../dashboards");

export function renderDashboards(): Map<string, string> {
  return new Map(Object.entries(DASHBOARDS).map(([name, spec]) => [`${name}.json`, `${JSON.stringify(dashboard(spec), null, 2)}\n`]));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.mkdirSync(DASHBOARDS_DIR, { recursive: true });
  for (const [file, text] of renderDashboards()) fs.writeFileSync(path.join(DASHBOARDS_DIR, file), text);
  process.stdout.write(`wrote ${DASHBOARDS_DIR}\n`);
}
