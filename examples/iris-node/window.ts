// The trainer's data: the base CSV (FLYWHEEL_DATASET, else the shipped iris.csv) plus the labelled feedback window
// (FLYWHEEL_WINDOW_DATASET: feature columns and `label`) that Flywheel resolves from the spec's dataWindow.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { FEATURES, IRIS_CSV, LABELS, loadIris, type Sample } from "./data.ts";

export interface IrisData {
  readonly base: Sample[];
  readonly baseUri: string;
  readonly window: Sample[];
  /** FLYWHEEL_DATA_WINDOW as given (model, days, from, to, rows) plus the CSV's location. */
  readonly windowInfo: Record<string, unknown> | undefined;
}

type Env = Record<string, string | undefined>;
const toPath = (uri: string): string => (uri.startsWith("file:") ? fileURLToPath(uri) : uri);

/** Rows of a window CSV; rows whose features are not numbers (e.g. hashed by a personal-data policy) are skipped. */
export function parseWindow(text: string): Sample[] {
  const [head, ...lines] = text.split(/\r?\n/).filter((l) => l.trim());
  // An empty window (no feedback yet) is a header alone: nothing to add.
  if (lines.length === 0) return [];
  const cols = (head ?? "").split(",").map((s) => s.trim());
  const at = FEATURES.map((f) => cols.indexOf(f));
  const label = cols.indexOf("label");
  if (at.some((i) => i < 0) || label < 0) throw new Error(`window dataset: header needs ${FEATURES.join(", ")} and label`);
  const out: Sample[] = [];
  for (const line of lines) {
    const cells = line.split(",").map((s) => s.trim().replace(/^"|"$/g, ""));
    const x = at.map((i) => Number(cells[i]));
    const y = LABELS.findIndex((l) => l === cells[label]);
    if (x.every(Number.isFinite) && y >= 0) out.push({ x, y });
  }
  return out;
}

export function loadData(env: Env): IrisData {
  // A base that is not a local file (or the default) falls back to the shipped CSV, which is what the specs name.
  const given = env.FLYWHEEL_DATASET ? toPath(env.FLYWHEEL_DATASET) : undefined;
  const basePath = given && given.endsWith(".csv") && fs.existsSync(given) ? given : IRIS_CSV;
  const windowUri = env.FLYWHEEL_WINDOW_DATASET;
  const window = windowUri ? parseWindow(fs.readFileSync(toPath(windowUri), "utf8")) : [];
  let windowInfo: Record<string, unknown> | undefined;
  if (windowUri) {
    const parsed: unknown = env.FLYWHEEL_DATA_WINDOW ? JSON.parse(env.FLYWHEEL_DATA_WINDOW) : {};
    windowInfo = { ...(parsed && typeof parsed === "object" ? parsed : {}), uri: windowUri, usable: window.length };
  }
  return { base: loadIris(basePath), baseUri: env.FLYWHEEL_DATASET ?? IRIS_CSV, window, windowInfo };
}
