// Compile parsed MLflow filters and order_by terms (filter.ts) to SQLite WHERE/JOIN/ORDER BY fragments, with MLflow's
// SQL-store semantics (mlflow/store/tracking/sqlalchemy_store.py): filters and sorting run in SQL, on indexes.
import type { Clause, EntityType, OrderTerm } from "./filter.ts";

/** How one searchable entity maps to SQL. */
export interface SqlSchema {
  /** Attribute key -> column expression (with its table alias). */
  readonly attributes: Readonly<Record<string, string>>;
  /** Key/value child tables by entity type; `join(a)` ties alias `a` to the owner row. */
  readonly children: Partial<Record<EntityType, { readonly table: string; readonly join: (alias: string) => string }>>;
}

export interface Fragment {
  readonly sql: string;
  readonly args: readonly unknown[];
}

/** MLflow LIKE is case-sensitive (MLflow turns on case_sensitive_like for SQLite): GLOB with the wildcards mapped. */
export function likeToGlob(pattern: string): string {
  return pattern.replace(/[*?[]/g, (c) => `[${c}]`).replace(/%/g, "*").replace(/_/g, "?");
}

function comparison(expr: string, c: Clause): Fragment {
  const v = c.value;
  if (Array.isArray(v)) {
    const list = v.map(() => "?").join(", ");
    return { sql: `${expr} ${c.comparator === "NOT IN" ? "NOT IN" : "IN"} (${list})`, args: v };
  }
  switch (c.comparator) {
    case "LIKE": return { sql: `${expr} GLOB ?`, args: [likeToGlob(String(v))] };
    // SQLite's LIKE folds ASCII case, as MLflow's ILIKE (lower(x) LIKE lower(y)) does on SQLite.
    case "ILIKE": return { sql: `${expr} LIKE ?`, args: [String(v)] };
    case "=": case "!=": case "<": case ">": case "<=": case ">=":
      return { sql: `${expr} ${c.comparator} ?`, args: [v] };
    default: return { sql: "0", args: [] };
  }
}

/** AND of the clauses; a child-table clause is an EXISTS probe on the (owner, key) primary key. */
export function compileWhere(clauses: readonly Clause[], schema: SqlSchema): Fragment[] {
  return clauses.map((c, i) => {
    if (c.type === "attribute") {
      const expr = schema.attributes[c.key];
      return expr ? comparison(expr, c) : { sql: "0", args: [] };
    }
    const child = schema.children[c.type];
    // Dataset filters are not stored in a searchable form: they match nothing (as before this compiler).
    if (!child) return { sql: "0", args: [] };
    const a = `f${i}`;
    const cmp = comparison(`${a}.value`, c);
    return { sql: `EXISTS (SELECT 1 FROM ${child.table} ${a} WHERE ${child.join(a)} AND ${a}.key = ? AND ${cmp.sql})`, args: [c.key, ...cmp.args] };
  });
}

/**
 * ORDER BY terms as MLflow's _get_orderby_clauses builds them: absent values last whatever the direction, and for
 * metrics NaN after numbers and before absent values. Child tables are LEFT JOINed once per term.
 */
export function compileOrder(terms: readonly OrderTerm[], schema: SqlSchema): { joins: Fragment; order: string[] } {
  const joins: string[] = [];
  const joinArgs: unknown[] = [];
  const order: string[] = [];
  terms.forEach((t, i) => {
    const dir = t.ascending ? "ASC" : "DESC";
    let expr: string | undefined;
    if (t.type === "attribute") expr = schema.attributes[t.key];
    else {
      const child = schema.children[t.type];
      if (!child) return; // dataset order has no value to sort on
      const a = `o${i}`;
      joins.push(`LEFT JOIN ${child.table} ${a} ON ${child.join(a)} AND ${a}.key = ?`);
      joinArgs.push(t.key);
      expr = `${a}.value`;
      if (t.type === "metric") {
        order.push(`CASE WHEN ${a}.is_nan = 1 THEN 1 WHEN ${a}.value IS NULL THEN 2 ELSE 0 END`, `${expr} ${dir}`);
        return;
      }
    }
    if (!expr) return;
    // SQLite sorts NULL first: an ascending term needs the presence rank; a descending one has NULLs last already.
    if (t.ascending) order.push(`${expr} IS NULL`);
    order.push(`${expr} ${dir}`);
  });
  return { joins: { sql: joins.join(" "), args: joinArgs }, order };
}

/** A page query: `select` from `from` with the compiled filter, order and joins; one row past the page tells if more exist. */
export function pageQuery(opts: {
  select: string;
  from: string;
  where: readonly Fragment[];
  joins: Fragment;
  order: readonly string[];
  limit: number;
  offset: number;
}): Fragment {
  const where = opts.where.length ? ` WHERE ${opts.where.map((w) => `(${w.sql})`).join(" AND ")}` : "";
  return {
    sql: `SELECT ${opts.select} FROM ${opts.from} ${opts.joins.sql}${where} ORDER BY ${opts.order.join(", ")} LIMIT ? OFFSET ?`,
    args: [...opts.joins.args, ...opts.where.flatMap((w) => w.args), opts.limit + 1, opts.offset],
  };
}

/** MLflow's page: the rows and a next_page_token when rows remain past it. */
export function pageOf<T>(rows: readonly T[], offset: number, limit: number, encode: (offset: number) => string): { items: T[]; next?: string } {
  return rows.length > limit ? { items: rows.slice(0, limit), next: encode(offset + limit) } : { items: [...rows] };
}
