// runs/search in SQL against a reference evaluation in memory (MLflow's SQL-store semantics), for many generated
// filters, orders and page sizes (fixed seed), over runs created through the REST API.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUN_ATTRIBUTES } from "../../../platform/registry/runs.ts";
import { searchRunRows } from "../../../platform/registry/run-search.ts";
import { matches, parseFilter, parseOrderBy, type FilterSpec, type Lookup, type OrderTerm } from "../../../platform/registry/filter.ts";
import { col, openStore, type Db } from "../../../platform/registry/store.ts";
import { prng } from "../../../bench/registry/seed.ts";
import { get, list, startHarness, type Harness } from "./harness.ts";

const SPEC: FilterSpec = { attributes: RUN_ATTRIBUTES, numericAttributes: ["start_time", "end_time", "created", "Created"], types: ["metric", "param", "tag", "dataset"] };

interface RefRun {
  id: string;
  name: string;
  status: string;
  start: number;
  end: number | undefined;
  stage: "active" | "deleted";
  metrics: Map<string, number>; // NaN kept as NaN
  params: Map<string, string>;
  tags: Map<string, string>;
}

const rnd = prng(20261206);
const pick = <T,>(xs: readonly T[]): T => {
  const x = xs[Math.floor(rnd() * xs.length)];
  if (x === undefined) throw new Error("empty pick");
  return x;
};
const OPTIMIZERS = ["adam", "Adam", "sgd", "rms_prop", "ada%grad"];
const TEAMS = ["a", "b", "B", "c_1"];
const STATUSES = ["RUNNING", "FINISHED", "FAILED", "KILLED"];

let h: Harness;
let db: Db;
let exp = "";
const runs: RefRun[] = [];

/** The value a clause or an order term sees; metrics NaN read as MLflow's stored 0 in filters. */
function lookupOf(r: RefRun, nanAs: "zero" | "nan"): Lookup {
  return (type, key) => {
    if (type === "metric") {
      const v = r.metrics.get(key);
      return v === undefined ? undefined : Number.isNaN(v) && nanAs === "zero" ? 0 : v;
    }
    if (type === "param") return r.params.get(key);
    if (type === "tag") return r.tags.get(key);
    if (type === "dataset") return undefined;
    switch (key) {
      case "run_id": return r.id;
      case "run_name": return r.name;
      case "status": return r.status;
      case "start_time": case "created": case "Created": return r.start;
      case "end_time": return r.end;
      case "lifecycle_stage": return r.stage;
      case "user_id": return "";
      default: return undefined;
    }
  };
}

/** MLflow's order: per term values first, then NaN (metrics), then absent; then start_time DESC, run_uuid. */
function reference(view: string, filter: string | undefined, orderBy: string[]): string[] {
  const clauses = parseFilter(filter, SPEC);
  const terms: OrderTerm[] = parseOrderBy(orderBy, SPEC);
  const rank = (t: OrderTerm, v: string | number | undefined): number =>
    v === undefined ? (t.type === "metric" ? 2 : 1) : typeof v === "number" && Number.isNaN(v) ? 1 : 0;
  return runs
    .filter((r) => view === "ALL" || (view === "DELETED_ONLY" ? r.stage === "deleted" : r.stage === "active"))
    .filter((r) => matches(clauses, lookupOf(r, "zero")))
    .sort((a, b) => {
      for (const t of terms) {
        if (t.type === "dataset") continue;
        const va = lookupOf(a, "nan")(t.type, t.key);
        const vb = lookupOf(b, "nan")(t.type, t.key);
        const d = rank(t, va) - rank(t, vb);
        if (d) return d;
        if (rank(t, va) !== 0) continue;
        const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va) < String(vb) ? -1 : String(va) > String(vb) ? 1 : 0;
        if (c) return t.ascending ? c : -c;
      }
      const byStart = terms.some((t) => t.type === "attribute" && ["start_time", "created", "Created"].includes(t.key));
      return (byStart ? 0 : b.start - a.start) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    })
    .map((r) => r.id);
}

function randomFilter(): string | undefined {
  const n = Math.floor(rnd() * 4);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = pick(runs);
    switch (Math.floor(rnd() * 8)) {
      case 0: parts.push(`metrics.${pick(["acc", "loss"])} ${pick(["=", "!=", "<", ">", "<=", ">="])} ${pick([0, 0.25, 0.5, 0.75, r.metrics.get("acc") ?? 0.5])}`); break;
      case 1: parts.push(`params.opt ${pick(["=", "!="])} '${pick(OPTIMIZERS)}'`); break;
      case 2: parts.push(`params.opt ${pick(["LIKE", "ILIKE"])} '${pick(["ada%", "%a%", "ADAM", "a_am", "%\\%%", "rms\\_%", "s_d"])}'`); break;
      case 3: parts.push(`tags.team ${pick(["=", "!=", "LIKE", "ILIKE"])} '${pick([...TEAMS, "b%", "%_1"])}'`); break;
      case 4: parts.push(`attributes.status ${pick(["=", "!="])} '${pick(STATUSES)}'`); break;
      case 5: parts.push(`attributes.run_name ${pick(["LIKE", "ILIKE", "=", "!="])} '${pick(["run-1%", "RUN-2%", r.name, "%5"])}'`); break;
      case 6: parts.push(`attributes.${pick(["start_time", "end_time", "created"])} ${pick(["<", ">=", "=", "!="])} ${r.start}`); break;
      default: parts.push(`attributes.run_id ${pick(["IN", "NOT IN"])} ('${pick(runs).id}', '${r.id}')`);
    }
  }
  return parts.length ? parts.join(" and ") : undefined;
}

function randomOrder(): string[] {
  const keys = ["metrics.acc", "metrics.loss", "params.opt", "params.batch", "tags.team", "attributes.start_time", "attributes.end_time", "attributes.run_name", "attributes.status", "run_id"];
  const n = Math.floor(rnd() * 3);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = pick(keys);
    if (!out.some((o) => o.startsWith(`${k} `))) out.push(`${k} ${pick(["ASC", "DESC"])}`);
  }
  return out;
}

beforeAll(async () => {
  h = startHarness();
  exp = String((await h.call("POST", "/mlflow/experiments/create", { name: "equivalence" })).json.experiment_id);
  for (let i = 0; i < 240; i++) {
    // Few distinct start times, so the start_time/run_uuid tie-break decides often.
    const start = 1_700_000_000_000 + Math.floor(rnd() * 40) * 1000;
    const created = await h.call("POST", "/mlflow/runs/create", { experiment_id: exp, run_name: `run-${i}`, start_time: start, tags: rnd() < 0.8 ? [{ key: "team", value: pick(TEAMS) }] : [] });
    const id = String(get(created.json, "run", "info", "run_id"));
    const r: RefRun = { id, name: `run-${i}`, status: "RUNNING", start, end: undefined, stage: "active", metrics: new Map(), params: new Map(), tags: new Map() };
    for (const t of list(created.json, "run", "data", "tags")) r.tags.set(String(get(t, "key")), String(get(t, "value")));
    const metrics: { key: string; value: number | string; timestamp: number; step: number }[] = [];
    const roll = rnd();
    if (roll < 0.7) metrics.push({ key: "acc", value: Math.round(rnd() * 8) / 8, timestamp: start, step: 0 });
    else if (roll < 0.8) metrics.push({ key: "acc", value: "NaN", timestamp: start, step: 0 });
    if (rnd() < 0.6) metrics.push({ key: "loss", value: rnd(), timestamp: start, step: 0 });
    for (const m of metrics) r.metrics.set(m.key, typeof m.value === "number" ? m.value : NaN);
    const params = [{ key: "opt", value: pick(OPTIMIZERS) }, ...(rnd() < 0.5 ? [{ key: "batch", value: String(pick([16, 32, 128])) }] : [])];
    for (const p of params) r.params.set(p.key, p.value);
    expect((await h.call("POST", "/mlflow/runs/log-batch", { run_id: id, metrics, params })).status).toBe(200);
    if (rnd() < 0.5) {
      r.status = pick(STATUSES);
      r.end = rnd() < 0.8 ? start + Math.floor(rnd() * 5) * 1000 : undefined;
      const body: Record<string, unknown> = { run_id: id, status: r.status };
      if (r.end !== undefined) body.end_time = r.end;
      expect((await h.call("POST", "/mlflow/runs/update", body)).status).toBe(200);
    }
    if (rnd() < 0.1) {
      r.stage = "deleted";
      expect((await h.call("POST", "/mlflow/runs/delete", { run_id: id })).status).toBe(200);
    }
    runs.push(r);
  }
  db = openStore(path.join(h.dataDir));
});
afterAll(() => {
  db.close();
  h.close();
});

describe("runs/search in SQL equals MLflow's order and filters evaluated in memory", () => {
  it("returns the same runs in the same order, page by page, for 150 generated searches", async () => {
    for (let q = 0; q < 150; q++) {
      const filter = randomFilter();
      const order_by = randomOrder();
      const view = pick(["ACTIVE_ONLY", "ACTIVE_ONLY", "DELETED_ONLY", "ALL"]);
      const max = pick([3, 7, 50, 1000]);
      const got: string[] = [];
      let token: unknown;
      for (let pageNo = 0; pageNo < 300; pageNo++) {
        const res = await h.call("POST", "/mlflow/runs/search", { experiment_ids: [exp], filter, order_by, run_view_type: view, max_results: max, page_token: token });
        expect(res.status, `${filter} ${order_by.join(",")}: ${res.text}`).toBe(200);
        const page = list(res.json, "runs").map((r) => String(get(r, "info", "run_id")));
        expect(page.length).toBeLessThanOrEqual(max);
        got.push(...page);
        token = res.json.next_page_token;
        if (!token) break;
        expect(page.length).toBe(max);
      }
      expect(got, `filter=${filter} order_by=${order_by.join(",")} view=${view} max=${max}`).toEqual(reference(view, filter, order_by));
    }
  });

  it("gives the same page when a deep page is found by counting the parts it skips, or read from the end", () => {
    for (let q = 0; q < 80; q++) {
      const filter = randomFilter();
      const order_by = randomOrder();
      const limit = pick([1, 5, 20]);
      const expected = reference("ACTIVE_ONLY", filter, order_by);
      const offset = Math.floor(rnd() * (expected.length + 5));
      const base = { experimentIds: [exp], view: "ACTIVE_ONLY" as const, clauses: parseFilter(filter, SPEC), order: parseOrderBy(order_by, SPEC), limit, offset };
      for (const deep of [1, 1_000_000]) {
        const p = searchRunRows(db, { ...base, deep });
        const why = `filter=${filter} order_by=${order_by.join(",")} offset=${offset} deep=${deep}`;
        expect(p.items.map((r) => col.str(r, "run_uuid")), why).toEqual(expected.slice(offset, offset + limit));
        expect(p.next !== undefined, why).toBe(offset + limit < expected.length);
      }
    }
  });

  it("orders by one metric on latest_metrics' scope index: every offset, both directions and views, after a restore", async () => {
    // A restored run's metrics follow it back into the active scope (the runs_scope trigger).
    const restored = runs.find((r) => r.stage === "deleted" && r.metrics.has("acc"));
    if (!restored) throw new Error("the seed has no deleted run with acc");
    expect((await h.call("POST", "/mlflow/runs/restore", { run_id: restored.id })).status).toBe(200);
    restored.stage = "active";
    for (const view of ["ACTIVE_ONLY", "DELETED_ONLY"] as const) {
      for (const order_by of [["metrics.acc DESC"], ["metrics.acc ASC"], ["metrics.loss DESC"], ["metrics.none ASC"]]) {
        const expected = reference(view, undefined, order_by);
        for (let offset = 0; offset <= expected.length + 1; offset += 7) {
          for (const deep of [1, 1_000_000]) {
            const p = searchRunRows(db, { experimentIds: [exp], view, clauses: [], order: parseOrderBy(order_by, SPEC), limit: 9, offset, deep });
            const why = `view=${view} order_by=${order_by.join(",")} offset=${offset} deep=${deep}`;
            expect(p.items.map((r) => col.str(r, "run_uuid")), why).toEqual(expected.slice(offset, offset + 9));
            expect(p.next !== undefined, why).toBe(offset + 9 < expected.length);
          }
        }
      }
    }
  });

  it("pages the whole experiment in MLflow's default order (start_time DESC, run_uuid)", async () => {
    const res = await h.call("POST", "/mlflow/runs/search", { experiment_ids: [exp], max_results: 1000 });
    expect(list(res.json, "runs").map((r) => String(get(r, "info", "run_id")))).toEqual(reference("ACTIVE_ONLY", undefined, []));
    expect(res.json.next_page_token).toBeUndefined();
  });
});

describe("search answers MLflow gives (golden transcript)", () => {
  it("runs/search: only run_id takes IN; an unknown run_view_type reads as ACTIVE_ONLY", async () => {
    const bad = await h.call("POST", "/mlflow/runs/search", { experiment_ids: [exp], filter: "attributes.status IN ('FINISHED', 'FAILED')" });
    expect([bad.status, bad.json.error_code]).toEqual([400, "INVALID_PARAMETER_VALUE"]);
    const noList = await h.call("POST", "/mlflow/runs/search", { experiment_ids: [exp], filter: "attributes.run_id IN 'x'" });
    expect([noList.status, noList.json.error_code]).toEqual([400, "BAD_REQUEST"]);
    const bogus = await h.call("POST", "/mlflow/runs/search", { experiment_ids: [exp], run_view_type: "BOGUS", max_results: 1000 });
    expect(bogus.status).toBe(200);
    expect(list(bogus.json, "runs").map((r) => String(get(r, "info", "run_id")))).toEqual(reference("ACTIVE_ONLY", undefined, []));
  });

  it("registered-models/search: max_results=0 gives no models and a token at the same offset; tags filter and name order in SQL", async () => {
    for (const [name, team] of [["m-b", "x"], ["m-a", "y"], ["m-c", "x"]]) {
      expect((await h.call("POST", "/mlflow/registered-models/create", { name, tags: [{ key: "team", value: team }] })).status).toBe(200);
    }
    const zero = await h.call("GET", "/mlflow/registered-models/search?max_results=0");
    expect(zero.json).toEqual({ next_page_token: Buffer.from(JSON.stringify({ offset: 0 })).toString("base64") });
    const names = async (qs: string): Promise<string[]> => list((await h.call("GET", `/mlflow/registered-models/search?${qs}`)).json, "registered_models").map((m) => String(get(m, "name")));
    expect(await names("")).toEqual(["m-a", "m-b", "m-c"]);
    expect(await names(new URLSearchParams({ filter: "tags.team = 'x'", order_by: "name DESC" }).toString())).toEqual(["m-c", "m-b"]);
    expect(await names(new URLSearchParams({ filter: "name LIKE 'm-_'", max_results: "1", page_token: Buffer.from(JSON.stringify({ offset: 2 })).toString("base64") }).toString())).toEqual(["m-c"]);
  });
});
