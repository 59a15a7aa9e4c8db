// Compile parsed MLflow filters and order_by terms (filter.ts) to SQLite WHERE/JOIN/ORDER BY fragments, with MLflow's
// SQL-store semantics (mlflow/store/tracking/sqlalchemy_store.py): filters and sorting run in SQL, on indexes.
import type { Clause, EntityType, OrderTerm } from "./filter.ts";
import { all, one, type Db, type Row } from "./store.ts";

/** How one searchable entity maps to SQL. */
export interface SqlSchema {
  /** Attribute key -> column expression (with its table alias). */
  readonly attributes: Readonly<Record<string, string>>;
  /** Key/value child tables by entity type; `join(a)` ties alias `a` to the owner row. */
  readonly children: Partial<Record<EntityType, { readonly table: string; readonly join: (alias: string) => string }>>;
  /** Attribute columns declared NOT NULL: their sort needs no presence rank, so an index can serve it. */
  readonly notNull?: readonly string[];
  /** Child types where `key != v` also matches an owner without the key (MLflow's registered-model tag filter). */
  readonly absentMatchesNotEqual?: readonly EntityType[];
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
    if (c.comparator === "!=" && !Array.isArray(c.value) && schema.absentMatchesNotEqual?.includes(c.type)) {
      return { sql: `NOT EXISTS (SELECT 1 FROM ${child.table} ${a} WHERE ${child.join(a)} AND ${a}.key = ? AND ${a}.value = ?)`, args: [c.key, c.value] };
    }
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
    if (t.ascending && !schema.notNull?.includes(expr)) order.push(`${expr} IS NULL`);
    order.push(`${expr} ${dir}`);
  });
  return { joins: { sql: joins.join(" "), args: joinArgs }, order };
}

/** An offset from which a part is counted before it is read. */
export const DEEP = 5000;

export interface Part {
  readonly from: string;
  readonly where: readonly Fragment[];
  readonly order: readonly string[];
}

function partSql(p: Part, select: string): Fragment {
  const where = p.where.length ? ` WHERE ${p.where.map((w) => `(${w.sql})`).join(" AND ")}` : "";
  return { sql: `SELECT ${select} FROM ${p.from}${where}`, args: p.where.flatMap((w) => w.args) };
}

/**
 * The ids of one page (and one more, to tell whether rows remain), in MLflow's order. When the first order term is a
 * metric, param or tag, the rows are read in parts, in the order MLflow ranks them (values, then NaN for metrics, then
 * absent), each part walking the child table's (key, value) index, so a page near the top does not sort every row.
 * A part that a deep page skips entirely is counted instead.
 */
export function searchIds(db: Db, q: {
  schema: SqlSchema;
  /** "<table> <alias>" of the searched entity. */
  from: string;
  id: string;
  where: readonly Fragment[];
  terms: readonly OrderTerm[];
  tiebreak: readonly string[];
  limit: number;
  offset: number;
  /** Offset from which a part is counted before it is read (tests lower it). */
  deep?: number;
  /**
   * The order ends in a unique key (a total order): a page nearer the end may then be read from the end, in the
   * reversed order, which gives exactly the same rows.
   */
  total?: boolean;
}): string[] {
  const [first, ...others] = q.terms;
  const child = first && first.type !== "attribute" ? q.schema.children[first.type] : undefined;
  const parts: { part: Part; joinArgs: readonly unknown[] }[] = [];
  if (!first || !child) {
    const { joins, order } = compileOrder(q.terms, q.schema);
    parts.push({ part: { from: `${q.from} ${joins.sql}`, where: q.where, order: [...order, ...q.tiebreak] }, joinArgs: joins.args });
  } else {
    const rest = compileOrder(others, q.schema);
    const order = [...rest.order, ...q.tiebreak];
    const present = first.type === "metric" ? ["d.is_nan = 0", "d.is_nan = 1"] : ["1"];
    for (const cond of present) {
      // CROSS JOIN keeps the child table outermost, so SQLite walks its (key, value) index in order.
      parts.push({
        part: {
          from: `${child.table} d CROSS JOIN ${q.from} ${rest.joins.sql}`,
          where: [{ sql: `d.key = ? AND ${cond} AND ${child.join("d")}`, args: [first.key] }, ...q.where],
          order: [`d.value ${first.ascending ? "ASC" : "DESC"}`, ...order],
        },
        joinArgs: rest.joins.args,
      });
    }
    parts.push({
      part: {
        from: `${q.from} ${rest.joins.sql}`,
        where: [{ sql: `NOT EXISTS (SELECT 1 FROM ${child.table} d WHERE ${child.join("d")} AND d.key = ?)`, args: [first.key] }, ...q.where],
        order,
      },
      joinArgs: rest.joins.args,
    });
  }
  const want = q.limit + 1;
  const deep = q.deep ?? DEEP;
  const count = (part: Part, joinArgs: readonly unknown[]): number => {
    const counted = partSql(part, "count(*) AS n");
    const n = one(db, counted.sql, ...joinArgs, ...counted.args)?.n;
    return typeof n === "number" ? n : 0;
  };
  if (q.total && q.offset >= deep) {
    // Deep in a total order, offsets cost a walk over every skipped row (each joined to its run). Counting the
    // searched rows needs no join; a page in the back half is then the same rows read from the other end.
    const rows = count({ from: q.from, where: q.where, order: [] }, []);
    const end = Math.min(q.offset + want, rows);
    if (end <= q.offset) return [];
    if (rows - end < q.offset) {
      const reversed = parts.reverse().map(({ part, joinArgs }) => ({ part: { ...part, order: part.order.map(flipDirection) }, joinArgs }));
      return walkParts(db, q.id, reversed, rows - end, end - q.offset, deep, count).reverse();
    }
  }
  return walkParts(db, q.id, parts, q.offset, want, deep, count);
}

/** The ids of `want` rows from `offset`, over parts read in turn; far past the top, a part is counted before it is read. */
export function walkParts(
  db: Db,
  id: string,
  parts: readonly { part: Part; joinArgs: readonly unknown[] }[],
  offset: number,
  want: number,
  deep: number,
  count: (part: Part, joinArgs: readonly unknown[]) => number,
): string[] {
  let skip = offset;
  const ids: string[] = [];
  for (const { part, joinArgs } of parts) {
    if (ids.length >= want) break;
    // Far past the top, counting a part first saves walking it twice when the page lies beyond it.
    if (skip >= deep && parts.length > 1) {
      const n = count(part, joinArgs);
      if (n <= skip) {
        skip -= n;
        continue;
      }
    }
    const base = partSql(part, id);
    const rows = all(db, `${base.sql} ORDER BY ${part.order.join(", ")} LIMIT ? OFFSET ?`, ...joinArgs, ...base.args, want - ids.length, skip);
    if (rows.length) {
      skip = 0;
      for (const r of rows) ids.push(String(Object.values(r)[0]));
    } else if (skip > 0) {
      skip -= count(part, joinArgs);
    }
  }
  return ids;
}

/** One ORDER BY term in the opposite direction (a bare term is ascending). */
export function flipDirection(term: string): string {
  if (/\sDESC$/i.test(term)) return term.replace(/\sDESC$/i, " ASC");
  if (/\sASC$/i.test(term)) return term.replace(/\sASC$/i, " DESC");
  return `${term} DESC`;
}

/** MLflow's page: the rows and a next_page_token when rows remain past it. */
export function pageOf<T>(rows: readonly T[], offset: number, limit: number, encode: (offset: number) => string): { items: T[]; next?: string } {
  return rows.length > limit ? { items: rows.slice(0, limit), next: encode(offset + limit) } : { items: [...rows] };
}

/** The rows of `table` with these ids, in the order of `ids` (the page's sorted order). */
export function rowsByIds(db: Db, table: string, idColumn: string, ids: readonly (string | number)[]): Row[] {
  if (!ids.length) return [];
  const rows = all(db, `SELECT *, ${idColumn} AS search_id FROM ${table} WHERE ${idColumn} IN (SELECT value FROM json_each(?))`, JSON.stringify(ids));
  const byId = new Map(rows.map((r) => [String(r.search_id), r]));
  const out: Row[] = [];
  for (const id of ids) {
    const row = byId.get(String(id));
    if (row) out.push(row);
  }
  return out;
}
