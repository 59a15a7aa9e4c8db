// Retention of window datasets: per model, the newest N, plus every window a training may still read or a registered
// version's lineage names; the rest is deleted. Safe to run twice and on several replicas at once.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { errorFields, type Logger } from "../log.ts";

/** The CSV's file name for a training request's key (its job id): retention finds a job's window by it. */
export const windowFileName = (key: string): string => `${key.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 120)}.csv`;

/** What still needs a model's windows. Any failure means "unknown": nothing is pruned that time. */
export interface WindowUse {
  /** Ids of the model's trainings that may still read their window (their file is named after the id). */
  activeJobs(model: string): Promise<Iterable<string>>;
  /** Window dataset URIs (or paths) the model's registered versions record as their data. */
  registered(model: string): Promise<Iterable<string>>;
}

export interface WindowRetention {
  /** Windows kept per model however unused (the newest, by the end of their window); 0 turns pruning off. */
  readonly keep: number;
  readonly use: WindowUse;
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * A window written this recently is never pruned: another replica may have materialized it for a launch whose object
 * does not exist yet (launch-training's own timeout is 120 s), so "no active job" does not yet mean unused.
 */
export const WINDOW_GRACE_MS = 15 * 60_000;

interface Entry {
  readonly base: string;
  readonly to: number;
  readonly mtimeMs: number;
}

const stat = (file: string): fs.Stats | undefined => {
  try {
    return fs.statSync(file);
  } catch {
    return undefined; // Gone: another replica pruned it first.
  }
};

const resolvePath = (uri: string): string | undefined => {
  try {
    return path.resolve(uri.startsWith("file:") ? fileURLToPath(uri) : uri);
  } catch {
    return undefined;
  }
};

/** The windows of a model on disk (`<base>.csv` with `<base>.csv.json`), and leftovers without a meta file. */
function scan(dir: string): { windows: Entry[]; strays: { file: string; mtimeMs: number }[] } {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { windows: [], strays: [] };
  }
  const metas = new Set(names.filter((n) => n.endsWith(".csv.json")).map((n) => n.slice(0, -".json".length)));
  const windows: Entry[] = [];
  for (const base of metas) {
    const s = stat(path.join(dir, `${base}.json`));
    if (!s) continue;
    let to = s.mtimeMs;
    try {
      const meta: unknown = JSON.parse(fs.readFileSync(path.join(dir, `${base}.json`), "utf8"));
      if (typeof meta === "object" && meta !== null && "to" in meta && typeof meta.to === "number") to = meta.to;
    } catch {
      continue; // Removed meanwhile, or being written: leave it to a later pass.
    }
    windows.push({ base, to, mtimeMs: s.mtimeMs });
  }
  // A CSV whose meta is gone (a pass that stopped between its two deletions) or a write's temp file left by a crash.
  const strays = names
    .filter((n) => (n.endsWith(".csv") && !metas.has(n)) || n.endsWith(".csv.tmp"))
    .flatMap((n) => {
      const s = stat(path.join(dir, n));
      return s ? [{ file: path.join(dir, n), mtimeMs: s.mtimeMs }] : [];
    });
  return { windows, strays };
}

/**
 * Deletes the model's windows beyond `keep` that no active training and no registered version uses; returns the
 * deleted CSVs. The meta file goes first, so a window is never half there (a meta naming a missing CSV would be reused
 * by a redelivery); a CSV left without its meta is removed by a later pass. ENOENT is expected (another replica).
 */
export async function pruneWindows(root: string, model: string, r: WindowRetention): Promise<string[]> {
  if (r.keep <= 0) return [];
  const dir = path.join(root, model);
  // Read the directory before asking what is in use: a window materialized meanwhile is not in this pass's list.
  const { windows, strays } = scan(dir);
  const now = r.now();
  const settled = (mtimeMs: number): boolean => now - mtimeMs > WINDOW_GRACE_MS;
  const old = windows.sort((a, b) => b.to - a.to || a.base.localeCompare(b.base)).slice(r.keep).filter((w) => settled(w.mtimeMs));
  const staleStrays = strays.filter((s) => settled(s.mtimeMs));
  if (!old.length && !staleStrays.length) return [];
  let jobs: Set<string>;
  let uris: Set<string>;
  try {
    const [active, registered] = await Promise.all([r.use.activeJobs(model), r.use.registered(model)]);
    jobs = new Set([...active].map(windowFileName));
    uris = new Set([...registered].flatMap((u) => resolvePath(u) ?? []));
  } catch (e) {
    r.log.warn("window datasets not pruned: could not tell which are in use", { model, ...errorFields(e) });
    return [];
  }
  const removed: string[] = [];
  for (const w of old) {
    const csv = path.join(dir, w.base);
    if (jobs.has(w.base) || uris.has(path.resolve(csv))) continue;
    fs.rmSync(`${csv}.json`, { force: true });
    fs.rmSync(csv, { force: true });
    removed.push(csv);
  }
  for (const s of staleStrays) {
    if (s.file.endsWith(".csv") && (jobs.has(path.basename(s.file)) || uris.has(path.resolve(s.file)))) continue;
    fs.rmSync(s.file, { force: true });
  }
  if (removed.length) r.log.info("window datasets pruned", { model, removed: removed.length, keep: r.keep });
  return removed;
}
