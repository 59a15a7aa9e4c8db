// A training spec's data window made concrete: the labelled feedback rows of [to - days, to) written once to a CSV
// (named after the training request, so a redelivery reuses it), and the env vars the job reads it from.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { FileInferenceLog } from "../inference-log/store.ts";
import type { TrainingSpec } from "../specs/training.ts";
import { pruneWindows, windowFileName, type WindowRetention } from "./retention.ts";

export interface ConcreteWindow {
  readonly model: string;
  readonly days: number;
  readonly from: number;
  readonly to: number;
  readonly rows: number;
  /** file:// URI of the CSV (feature columns, then `label`). */
  readonly uri: string;
}

export interface DataWindows {
  materialize(spec: TrainingSpec, key: string, to: number): ConcreteWindow | undefined;
  /** Applies the retention policy to a model's windows (none configured: keeps them all); returns what it deleted. */
  prune(model: string): Promise<readonly string[]>;
}

const DAY = 86_400_000;
const cell = (v: unknown): string => {
  const s = typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export class FileDataWindows implements DataWindows {
  constructor(private readonly o: { store: FileInferenceLog; dir: string; retention?: WindowRetention | undefined }) {}

  materialize(spec: TrainingSpec, key: string, to: number): ConcreteWindow | undefined {
    const w = spec.dataWindow;
    if (!w) return undefined;
    const file = path.join(this.o.dir, spec.model, windowFileName(key));
    const meta = `${file}.json`;
    if (fs.existsSync(meta)) return JSON.parse(fs.readFileSync(meta, "utf8")) as ConcreteWindow;
    const model = w.model ?? spec.model;
    const from = to - w.days * DAY;
    const rows = this.o.store.labelled(model, from, to);
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r.features)))].sort();
    const lines = [[...columns, "label"].join(","), ...rows.map((r) => [...columns.map((c) => cell(r.features[c])), cell(r.label)].join(","))];
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, lines.join("\n") + "\n");
    fs.renameSync(`${file}.tmp`, file);
    const concrete: ConcreteWindow = { model, days: w.days, from, to, rows: rows.length, uri: pathToFileURL(file).href };
    fs.writeFileSync(meta, JSON.stringify(concrete));
    return concrete;
  }

  async prune(model: string): Promise<readonly string[]> {
    return this.o.retention ? pruneWindows(this.o.dir, model, this.o.retention) : [];
  }
}

/** What the job gets: the base dataset, the window's CSV, and the window itself as JSON. */
export function windowEnv(spec: TrainingSpec, w: ConcreteWindow | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (spec.dataset) env.FLYWHEEL_DATASET = spec.dataset;
  if (w) {
    env.FLYWHEEL_WINDOW_DATASET = w.uri;
    env.FLYWHEEL_DATA_WINDOW = JSON.stringify({ model: w.model, days: w.days, from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString(), rows: w.rows });
  }
  return env;
}
