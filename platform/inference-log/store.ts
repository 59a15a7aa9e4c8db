// The inference log on disk: append-only JSON lines partitioned by day, one folder per deployment (requests) and per
// model (labelled rows). Day files are indexed in memory by request id; an index only ever reads a file's new tail.
import fs from "node:fs";
import path from "node:path";

export interface LogRecord {
  readonly requestId: string;
  /** Epoch ms the request was answered. */
  readonly time: number;
  readonly deployment: string;
  readonly model?: string | undefined;
  readonly version?: string | undefined;
  /** Input rows after the personal-data rule. */
  readonly rows: readonly Record<string, unknown>[];
  /** Predicted class per row. */
  readonly predictions: readonly (string | number)[];
  /** The model's class labels, when it has them (feedback labels are checked against these). */
  readonly classes?: readonly string[] | undefined;
}

export interface LabelledRow {
  readonly requestId: string;
  readonly row: number;
  /** When the request was answered (the window is over this time). */
  readonly time: number;
  readonly labelledAt: number;
  readonly deployment: string;
  readonly model: string;
  readonly version: string;
  readonly features: Record<string, unknown>;
  readonly label: string | number;
  readonly predicted: string | number | undefined;
}

const DAY = 86_400_000;
export const dayOf = (t: number): string => new Date(t).toISOString().slice(0, 10);
const dayStart = (day: string): number => Date.parse(`${day}T00:00:00.000Z`);
const safe = (name: string): string => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(name) || name.includes("..")) throw new RangeError(`not a safe name: ${name}`);
  return name;
};

interface Index<T> {
  size: number;
  byId: Map<string, T[]>;
}

export class FileInferenceLog {
  readonly root: string;
  readonly #indexes = new Map<string, Index<unknown>>();

  constructor(root: string) {
    this.root = root;
  }

  #file(kind: "requests" | "labelled", name: string, t: number): string {
    return path.join(this.root, kind, safe(name), `${dayOf(t)}.jsonl`);
  }

  #append(file: string, lines: readonly unknown[]): void {
    if (lines.length === 0) return;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, lines.map((l) => JSON.stringify(l) + "\n").join(""));
  }

  /** Records of a day file by request id; reads only what was appended since the last call. */
  #index<T extends { requestId: string }>(file: string): Map<string, T[]> {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      this.#indexes.delete(file);
      return new Map();
    }
    let idx = this.#indexes.get(file) as Index<T> | undefined;
    if (!idx || size < idx.size) idx = { size: 0, byId: new Map() };
    if (size > idx.size) {
      const fd = fs.openSync(file, "r");
      try {
        const buf = Buffer.alloc(size - idx.size);
        fs.readSync(fd, buf, 0, buf.length, idx.size);
        const text = buf.toString("utf8");
        // A partial last line (a writer mid-append) is left for the next read.
        const end = text.lastIndexOf("\n") + 1;
        for (const line of text.slice(0, end).split("\n")) {
          if (!line) continue;
          const rec = JSON.parse(line) as T;
          const list = idx.byId.get(rec.requestId) ?? [];
          list.push(rec);
          idx.byId.set(rec.requestId, list);
        }
        idx.size += Buffer.byteLength(text.slice(0, end));
      } finally {
        fs.closeSync(fd);
      }
    }
    this.#indexes.set(file, idx as Index<unknown>);
    return idx.byId;
  }

  append(rec: LogRecord): void {
    this.#append(this.#file("requests", rec.deployment, rec.time), [rec]);
  }

  /** The sampled record of an id issued at `time`, if it was sampled (and not deleted). */
  find(deployment: string, requestId: string, time: number): LogRecord | undefined {
    return this.#index<LogRecord>(this.#file("requests", deployment, time)).get(requestId)?.[0];
  }

  /** Labels already stored for a request (dedup of feedback). */
  labelsOf(model: string, requestId: string, time: number): LabelledRow[] {
    return this.#index<LabelledRow>(this.#file("labelled", model, time)).get(requestId) ?? [];
  }

  addLabelled(rows: readonly LabelledRow[]): void {
    for (const r of rows) this.#append(this.#file("labelled", r.model, r.time), [r]);
  }

  #days(kind: "requests" | "labelled", name: string): string[] {
    try {
      return fs.readdirSync(path.join(this.root, kind, safe(name))).filter((f) => f.endsWith(".jsonl")).map((f) => f.slice(0, -6)).sort();
    } catch {
      return [];
    }
  }

  /** Labelled rows of a model whose request time is in [from, to); the latest label per (request, row) wins. */
  labelled(model: string, from: number, to: number): LabelledRow[] {
    const out = new Map<string, LabelledRow>();
    for (const day of this.#days("labelled", model)) {
      const start = dayStart(day);
      if (start + DAY <= from || start >= to) continue;
      for (const list of this.#index<LabelledRow>(path.join(this.root, "labelled", model, `${day}.jsonl`)).values()) {
        for (const r of list) if (r.time >= from && r.time < to) out.set(`${r.requestId}#${r.row}`, r);
      }
    }
    return [...out.values()].sort((a, b) => a.time - b.time || a.row - b.row);
  }

  /** Labelled rows that arrived after `since` (the retrain's "is there anything new" check). */
  labelledSince(model: string, since: number): number {
    let n = 0;
    for (const day of this.#days("labelled", model)) {
      if (dayStart(day) + DAY <= since - 366 * DAY) continue;
      for (const list of this.#index<LabelledRow>(path.join(this.root, "labelled", model, `${day}.jsonl`)).values()) {
        if (list.some((r) => r.labelledAt > since)) n++;
      }
    }
    return n;
  }

  /** Sampled records of a deployment in [from, to), oldest first (the data-scientist's read API). */
  records(deployment: string, from: number, to: number, limit = 1000): LogRecord[] {
    const out: LogRecord[] = [];
    for (const day of this.#days("requests", deployment)) {
      const start = dayStart(day);
      if (start + DAY <= from || start >= to) continue;
      for (const list of this.#index<LogRecord>(path.join(this.root, "requests", deployment, `${day}.jsonl`)).values()) {
        for (const r of list) if (r.time >= from && r.time < to) out.push(r);
      }
    }
    return out.sort((a, b) => a.time - b.time).slice(0, limit);
  }

  /**
   * Delete a deployment's records in [from, to): whole days are removed, a partly covered day is rewritten without
   * them (write-then-rename, so a reader never sees half a file). Returns the records removed.
   */
  delete(deployment: string, from: number, to: number): number {
    let removed = 0;
    for (const day of this.#days("requests", deployment)) {
      const start = dayStart(day);
      if (start + DAY <= from || start >= to) continue;
      const file = path.join(this.root, "requests", deployment, `${day}.jsonl`);
      const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
      const keep = lines.filter((l) => {
        const t = (JSON.parse(l) as LogRecord).time;
        return t < from || t >= to;
      });
      removed += lines.length - keep.length;
      if (keep.length === 0) fs.rmSync(file, { force: true });
      else if (keep.length !== lines.length) {
        fs.writeFileSync(`${file}.tmp`, keep.map((l) => l + "\n").join(""));
        fs.renameSync(`${file}.tmp`, file);
      }
      this.#indexes.delete(file);
    }
    return removed;
  }

  /** Retention: drop request partitions of a deployment whose whole day is older than `days`. */
  prune(deployment: string, days: number, now: number): number {
    const cutoff = now - days * DAY;
    let n = 0;
    for (const day of this.#days("requests", deployment)) {
      if (dayStart(day) + DAY > cutoff) continue;
      const file = path.join(this.root, "requests", deployment, `${day}.jsonl`);
      fs.rmSync(file, { force: true });
      this.#indexes.delete(file);
      n++;
    }
    return n;
  }

  /** Models with labelled rows. */
  labelledModels(): string[] {
    try {
      return fs.readdirSync(path.join(this.root, "labelled"));
    } catch {
      return [];
    }
  }

  deployments(): string[] {
    try {
      return fs.readdirSync(path.join(this.root, "requests"));
    } catch {
      return [];
    }
  }
}
