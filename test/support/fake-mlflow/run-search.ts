// runs/search and the UI's experiments/search-datasets for the fake MLflow, from the recorded steps 149-178 and 308.
import { badAttribute, badComparator, cmp, compareNumber, compareString, NUMBER_OPS, parseFilter, parseOrderBy, STRING_OPS, type Clause } from "./filter.ts";
import { badType, invalid, page, type Params } from "./params.ts";
import { latestMetrics, runJson, type Run, type State } from "./state.ts";

type Entity = "metric" | "parameter" | "tag" | "attribute" | "dataset";
const ENTITIES: Record<string, Entity> = {
  metric: "metric", metrics: "metric", param: "parameter", params: "parameter", parameter: "parameter", parameters: "parameter",
  tag: "tag", tags: "tag", attribute: "attribute", attributes: "attribute", attr: "attribute", run: "attribute", dataset: "dataset", datasets: "dataset",
};
// The valid attribute keys exactly as step 174's message lists them.
const ATTRIBUTE_KEYS = ["Created", "Run Name", "Run name", "artifact_uri", "created", "end_time", "run name", "run_id", "run_name", "start_time", "status", "user_id"];
const NUMERIC_ATTRIBUTES = new Set(["start_time", "end_time", "created", "Created"]);

function entityOf(e: string | undefined): Entity {
  if (e === undefined) return "attribute";
  const t = ENTITIES[e];
  if (!t) throw invalid(`Invalid entity type '${e}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`);
  return t;
}

function attribute(r: Run, key: string): string | number | undefined {
  switch (key) {
    case "start_time": case "created": case "Created": return r.startTime;
    case "end_time": return r.endTime;
    case "status": return r.status;
    case "run_id": return r.id;
    case "user_id": return r.userId;
    case "artifact_uri": return r.artifactUri;
    case "experiment_id": return Number(r.experimentId);
    default: return r.name;
  }
}

function check(c: Clause): void {
  const type = entityOf(c.entity);
  if (type === "metric") {
    if (!NUMBER_OPS.has(c.op)) throw badComparator(c.op, NUMBER_OPS);
    if (c.value.kind !== "number") throw invalid(`Expected numeric value type for metric. Found ${c.value.kind === "string" ? `'${c.value.s}'` : "a list"}`);
  } else if (type === "parameter" || type === "tag" || type === "dataset") {
    if (!STRING_OPS.has(c.op)) throw badComparator(c.op, STRING_OPS);
    if (c.value.kind !== "string") throw invalid(`Expected a quoted string value for ${type} (e.g. 'my-value'). Got value ${c.value.kind === "number" ? c.value.text : "a list"}`);
  } else {
    if (!ATTRIBUTE_KEYS.includes(c.key)) throw badAttribute(c.key, ATTRIBUTE_KEYS);
    if (c.op === "IN" || c.op === "NOT IN") {
      if (c.key !== "run_id") throw invalid("Only the 'run_id' attribute supports comparison with a list of quoted string values.");
    } else if (NUMERIC_ATTRIBUTES.has(c.key)) {
      if (!NUMBER_OPS.has(c.op)) throw badComparator(c.op, NUMBER_OPS);
      if (c.value.kind !== "number") throw invalid(`Expected numeric value type for attribute. Found ${c.value.kind === "string" ? `'${c.value.s}'` : "a list"}`);
    } else {
      if (!STRING_OPS.has(c.op)) throw badComparator(c.op, STRING_OPS);
      if (c.value.kind !== "string") throw invalid(`Expected a quoted string value for attributes. Got value ${c.value.kind === "number" ? c.value.text : "a list"}`);
    }
  }
}

function matches(r: Run, c: Clause): boolean {
  const type = entityOf(c.entity);
  if (type === "metric") {
    const m = latestMetrics(r).find((x) => x.key === c.key);
    return m !== undefined && c.value.kind === "number" && compareNumber(c.op, c.value.n, m.value);
  }
  if (type === "parameter" || type === "tag") {
    const v = (type === "parameter" ? r.params : r.tags).get(c.key);
    return v !== undefined && compareString(c.op, c.value, v);
  }
  if (type === "dataset") return r.inputs.some((i) => compareString(c.op, c.value, i.dataset[c.key] ?? ""));
  const v = attribute(r, c.key);
  if (v === undefined) return false;
  return typeof v === "number" ? c.value.kind === "number" && compareNumber(c.op, c.value.n, v) : compareString(c.op, c.value, v);
}

function sortValue(r: Run, entity: string | undefined, key: string): string | number | undefined {
  const type = entityOf(entity);
  if (type === "metric") return latestMetrics(r).find((m) => m.key === key)?.value;
  if (type === "parameter") return r.params.get(key);
  if (type === "tag") return r.tags.get(key);
  if (type === "attribute" && !ATTRIBUTE_KEYS.includes(key)) throw badAttribute(key, ATTRIBUTE_KEYS);
  return attribute(r, key);
}

function search(p: Params, s: State): unknown {
  const max = p.int("max_results") ?? 1000;
  // The limit error is phrased as a type error (step 176).
  if (max > 50000 || max < 0) throw badType("max_results", p.raw("max_results"));
  const clauses = parseFilter(p.str("filter"));
  clauses.forEach(check);
  const order = parseOrderBy(p.list("order_by"));
  const ids = new Set(p.list("experiment_ids"));
  // An unknown run_view_type is ACTIVE_ONLY (step 178).
  const view = p.str("run_view_type") ?? "ACTIVE_ONLY";
  const runs = [...s.runs.values()].filter((r) => ids.has(r.experimentId))
    .filter((r) => view === "ALL" || (view === "DELETED_ONLY" ? r.stage === "deleted" : r.stage === "active"))
    .filter((r) => clauses.every((c) => matches(r, c)));
  // Default: newest start_time first; run_uuid breaks every tie.
  const keys = order.length ? order : [{ entity: "attributes", key: "start_time", asc: false }];
  runs.sort((a, b) => keys.reduce((acc, o) => acc || cmp(sortValue(a, o.entity, o.key), sortValue(b, o.entity, o.key), o.asc), 0) || (a.id < b.id ? -1 : 1));
  const pg = page(runs, max, p.str("page_token"));
  return { ...(pg.items.length ? { runs: pg.items.map((r) => runJson(r)) } : {}), ...(pg.next ? { next_page_token: pg.next } : {}) };
}

/** Each experiment's distinct (name, digest, context) inputs, experiments in the order asked (step 308). */
function searchDatasets(p: Params, s: State): unknown {
  const out: Record<string, string>[] = [];
  for (const id of p.list("experiment_ids")) {
    const seen = new Set<string>();
    for (const r of s.runs.values()) {
      if (r.experimentId !== id) continue;
      for (const i of r.inputs) {
        const context = i.tags.find(([k]) => k === "mlflow.data.context")?.[1];
        const key = JSON.stringify([i.dataset.name, i.dataset.digest, context]);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ experiment_id: id, name: i.dataset.name ?? "", digest: i.dataset.digest ?? "", ...(context ? { context } : {}) });
      }
    }
  }
  return out.length ? { dataset_summaries: out } : {};
}

export const runSearchRoutes = { "runs/search": { methods: ["POST"], handle: search } } as const;
export const ajaxOnlySearchRoutes = { "experiments/search-datasets": { methods: ["POST"], handle: searchDatasets } } as const;
