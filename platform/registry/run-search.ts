// runs/search in SQL: MLflow's filter, order_by and page tokens over the runs table and its metric/param/tag tables.
import type { ViewType } from "./experiments.ts";
import type { Clause, OrderTerm } from "./filter.ts";
import { encodeToken } from "./paging.ts";
import { metricOrderIds } from "./metric-order.ts";
import { compileWhere, DEEP, pageOf, rowsByIds, searchIds, type Fragment, type SqlSchema } from "./sql-search.ts";
import type { Db, Row } from "./store.ts";

/** Runs as MLflow's SQL store searches them (attribute columns; metrics, params and tags as key/value tables). */
export const RUN_SQL: SqlSchema = {
  attributes: {
    run_id: "r.run_uuid", run_name: "r.name", status: "r.status", start_time: "r.start_time", created: "r.start_time", Created: "r.start_time",
    end_time: "r.end_time", user_id: "r.user_id", artifact_uri: "r.artifact_uri", lifecycle_stage: "r.lifecycle_stage",
  },
  children: {
    metric: { table: "latest_metrics", join: (a) => `${a}.run_uuid = r.run_uuid` },
    param: { table: "params", join: (a) => `${a}.run_uuid = r.run_uuid` },
    tag: { table: "tags", join: (a) => `${a}.run_uuid = r.run_uuid` },
  },
  notNull: ["r.run_uuid", "r.name", "r.status", "r.user_id", "r.artifact_uri", "r.lifecycle_stage"],
};

export interface RunSearch {
  readonly experimentIds: readonly string[];
  readonly view: ViewType;
  readonly clauses: readonly Clause[];
  readonly order: readonly OrderTerm[];
  readonly limit: number;
  readonly offset: number;
  readonly deep?: number;
}

/** One page of runs/search, filtered, ordered and paged in SQL; only the page's rows are read. */
export function searchRunRows(db: Db, q: RunSearch): { items: Row[]; next?: string } {
  if (!q.experimentIds.length) return { items: [] };
  const scope: Fragment = q.experimentIds.length === 1
    ? { sql: "r.experiment_id = ?", args: [Number(q.experimentIds[0])] }
    : { sql: `r.experiment_id IN (${q.experimentIds.map(() => "?").join(", ")})`, args: q.experimentIds.map(Number) };
  const stage: Fragment[] = q.view === "ALL" ? [] : [{ sql: "r.lifecycle_stage = ?", args: [q.view === "ACTIVE_ONLY" ? "active" : "deleted"] }];
  // MLflow's tie-break: start_time DESC unless ordered by it already, then run_uuid.
  const byStart = q.order.some((t) => t.type === "attribute" && RUN_SQL.attributes[t.key] === "r.start_time");
  const [term, ...more] = q.order;
  const only = q.experimentIds[0];
  // The common "best runs by a metric" page has its own index (metric-order.ts): deep pages cost index entries only.
  const byMetric = term?.type === "metric" && !more.length && !q.clauses.length && q.view !== "ALL" && q.experimentIds.length === 1 && only !== undefined;
  const ids = byMetric
    ? metricOrderIds(db, { experimentId: Number(only), stage: q.view === "ACTIVE_ONLY" ? "active" : "deleted", key: term.key, ascending: term.ascending, limit: q.limit, offset: q.offset, deep: q.deep ?? DEEP })
    : searchIds(db, {
      schema: RUN_SQL,
      from: "runs r",
      id: "r.run_uuid",
      where: [scope, ...stage, ...compileWhere(q.clauses, RUN_SQL)],
      terms: q.order,
      tiebreak: [...(byStart ? [] : ["r.start_time DESC"]), "r.run_uuid"],
      limit: q.limit,
      offset: q.offset,
      deep: q.deep,
      // run_uuid ends every run order, so it is total.
      total: true,
    });
  const page = pageOf(ids, q.offset, q.limit, encodeToken);
  const items = rowsByIds(db, "runs", "run_uuid", page.items);
  return page.next ? { items, next: page.next } : { items };
}
