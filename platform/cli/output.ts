// Human output by default, JSON on --json.
export interface Out {
  line(text: string): void;
  json(value: unknown): void;
  error(text: string): void;
}

export const stdio: Out = {
  line: (t) => process.stdout.write(t + "\n"),
  json: (v) => process.stdout.write(JSON.stringify(v, null, 2) + "\n"),
  error: (t) => process.stderr.write(t + "\n"),
};

/** A fixed-width table for lists (jobs, events). */
export function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const cells = rows.map((r) => columns.map((c) => format(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const fmt = (row: readonly string[]) => row.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [fmt(columns.map((c) => c.toUpperCase())), ...cells.map(fmt)].join("\n");
}

function format(v: unknown): string {
  if (v === undefined || v === null) return "-";
  if (typeof v === "number" && v > 1_000_000_000_000) return new Date(v).toISOString().replace(/\.\d+Z$/, "Z");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
