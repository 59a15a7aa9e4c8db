// runs/search ordered by one metric in one experiment and stage, with no filter: paged on latest_metrics' scope
// indexes alone (store.ts), so skipped rows are index entries, never a lookup of their run.
import { flipDirection, walkParts, type Part } from "./sql-search.ts";
import { one, type Db } from "./store.ts";

export interface MetricOrder {
  readonly experimentId: number;
  readonly stage: string;
  readonly key: string;
  readonly ascending: boolean;
  readonly limit: number;
  readonly offset: number;
  /** Offset from which a part is counted before it is read (tests lower it). */
  readonly deep: number;
}

function countOf(db: Db, p: Part): number {
  const where = p.where.map((w) => `(${w.sql})`).join(" AND ");
  const n = one(db, `SELECT count(*) AS n FROM ${p.from} WHERE ${where}`, ...p.where.flatMap((w) => w.args))?.n;
  return typeof n === "number" ? n : 0;
}

/**
 * The ids of one page (and one more) in MLflow's order: numbers, then NaN, then runs without the metric; ties by
 * start_time DESC, run_uuid. A page in the back half is the same rows read from the end in the reversed order.
 */
export function metricOrderIds(db: Db, q: MetricOrder): string[] {
  const scope = { sql: "d.experiment_id = ? AND d.lifecycle_stage = ? AND d.key = ?", args: [q.experimentId, q.stage, q.key] };
  const dir = q.ascending ? "ASC" : "DESC";
  const tie = ["d.start_time DESC", "d.run_uuid"];
  const values: Part = { from: "latest_metrics d", where: [scope, { sql: "d.is_nan = 0", args: [] }], order: [`d.value ${dir}`, ...tie] };
  const nans: Part = { from: "latest_metrics d", where: [scope, { sql: "d.is_nan = 1", args: [] }], order: tie };
  // Runs without the metric: walked on runs_search, each probed once on latest_metrics' primary key.
  const absent: Part = {
    from: "runs d",
    where: [
      { sql: "d.experiment_id = ? AND d.lifecycle_stage = ?", args: [q.experimentId, q.stage] },
      { sql: "NOT EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_uuid = d.run_uuid AND m.key = ?)", args: [q.key] },
    ],
    order: tie,
  };
  const parts = [values, nans, absent];
  const want = q.limit + 1;
  // The absent part is counted as the scope's runs less those with the metric: no probe per run.
  const counts = new Map<Part, number>();
  const count = (p: Part): number => {
    let n = counts.get(p);
    if (n === undefined) {
      n = p === absent ? countOf(db, { ...absent, where: absent.where.slice(0, 1) }) - count(values) - count(nans) : countOf(db, p);
      counts.set(p, n);
    }
    return n;
  };
  const entries = (ps: readonly Part[]): { part: Part; joinArgs: readonly unknown[] }[] => ps.map((part) => ({ part, joinArgs: [] }));
  const flip = (p: Part): Part => ({ ...p, order: p.order.map(flipDirection) });
  if (q.offset >= q.deep) {
    // A page inside the numbers is read from their nearer end: no other part needs counting (a count costs a walk).
    const v = count(values);
    if (q.offset + want <= v) {
      if (v - (q.offset + want) < q.offset) return walkParts(db, "d.run_uuid", entries([flip(values)]), v - q.offset - want, want, q.deep, count).reverse();
      return walkParts(db, "d.run_uuid", entries([values]), q.offset, want, q.deep, count);
    }
    const rows = v + count(nans) + count(absent);
    const end = Math.min(q.offset + want, rows);
    if (end <= q.offset) return [];
    if (rows - end < q.offset) {
      const reversed = parts.map(flip).reverse();
      // Counts belong to the parts, whichever way they are read.
      reversed.forEach((p, i) => counts.set(p, count(parts[parts.length - 1 - i] ?? p)));
      return walkParts(db, "d.run_uuid", entries(reversed), rows - end, end - q.offset, q.deep, count).reverse();
    }
  }
  return walkParts(db, "d.run_uuid", entries(parts), q.offset, want, q.deep, count);
}
