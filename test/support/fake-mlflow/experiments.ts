// Experiment endpoints of the fake MLflow, from the recorded steps 2-69 and 309-313.
import { badAttribute, badComparator, cmp, compareNumber, compareString, parseFilter, parseOrderBy, STRING_OPS, NUMBER_OPS } from "./filter.ts";
import { badRequest, badType, exists, invalid, keyValues, notFound, page, shown, sqlError, type Params } from "./params.ts";
import { experimentJson, type Experiment, type State } from "./state.ts";

const noExperiment = (id: string) => notFound(`No Experiment with id=${id} exists`);

/** An experiment by id, any lifecycle stage (step 38: a deleted one is still returned). */
export function experiment(s: State, id: string): Experiment {
  const e = s.experiments.get(id);
  if (!e) throw noExperiment(id);
  return e;
}

/** An active experiment; a deleted one is refused (steps 41, 42). */
export function activeExperiment(s: State, id: string): Experiment {
  const e = experiment(s, id);
  if (e.stage !== "active") throw invalid(`The experiment ${id} must be in the 'active' state. Current state is deleted.`);
  return e;
}

const TAG_VALUE_LIMIT = 5000;

function create(p: Params, s: State): unknown {
  const name = p.req("name");
  if (s.experimentByName(name)) {
    const t = s.now();
    const sql = "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, ?, ?)";
    throw exists(`Experiment(name=${name}) already exists. Error: ${sqlError("UNIQUE constraint failed: experiments.name", sql, [name, p.str("artifact_location") ?? "", "active", t, t], true)}`);
  }
  const tags = keyValues(p.objects("tags"));
  return { experiment_id: s.addExperiment(name, p.str("artifact_location"), tags).id };
}

function setTag(p: Params, s: State): unknown {
  const id = p.req("experiment_id");
  const key = p.req("key");
  const value = p.str("value") ?? "";
  const e = activeExperiment(s, id);
  if (value.length > TAG_VALUE_LIMIT) throw invalid(`Tag value '${shown(value)}' had length ${value.length}, which exceeded length limit of ${TAG_VALUE_LIMIT}`);
  e.tags.set(key, value);
  return {};
}

function update(p: Params, s: State): unknown {
  const id = p.req("experiment_id");
  const newName = p.req("new_name");
  const e = experiment(s, id);
  const clash = s.experimentByName(newName);
  // MLflow lets the database refuse the duplicate name: 400 BAD_REQUEST (step 33).
  if (clash && clash !== e) {
    const sql = "UPDATE experiments SET name=?, last_update_time=? WHERE experiments.experiment_id = ?";
    throw badRequest(sqlError("UNIQUE constraint failed: experiments.name", sql, [newName, s.now(), Number(id)]));
  }
  e.name = newName;
  e.updated = s.now();
  return {};
}

function setStage(from: Experiment["stage"], to: Experiment["stage"]) {
  return (p: Params, s: State): unknown => {
    const id = p.req("experiment_id");
    const e = s.experiments.get(id);
    // Deleting a deleted experiment, or restoring an active one, is "does not exist" (steps 43, 66).
    if (!e || e.stage !== from) throw noExperiment(id);
    e.stage = to;
    e.updated = s.now();
    for (const r of s.runs.values()) if (r.experimentId === id) r.stage = to;
    return {};
  };
}

const FILTER_KEYS = ["creation_time", "last_update_time", "name"];
const ORDER_KEYS = ["creation_time", "experiment_id", "last_update_time", "name"];
const VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"];

function attr(e: Experiment, key: string): string | number {
  return key === "name" ? e.name : key === "experiment_id" ? Number(e.id) : key === "creation_time" ? e.created : e.updated;
}

function search(p: Params, s: State): unknown {
  // max_results has no default: absent is 0, which is refused (steps 45, 46).
  const max = p.int("max_results") ?? 0;
  if (max < 1) throw invalid(`Invalid value ${max} for parameter 'max_results' supplied. It must be a positive integer`);
  if (max > 50000) throw invalid(`Invalid value ${max} for parameter 'max_results' supplied. It must be at most 50000`);
  const view = p.str("view_type") ?? "ACTIVE_ONLY";
  if (!VIEW_TYPES.includes(view)) throw badType("view_type", view);
  const clauses = parseFilter(p.str("filter"), false);
  for (const c of clauses) {
    const isTag = c.entity === "tags" || c.entity === "tag";
    if (!isTag && !(c.entity === undefined || c.entity === "attribute" || c.entity === "attributes")) throw badAttribute(`${c.entity}.${c.key}`, FILTER_KEYS);
    if (!isTag && !FILTER_KEYS.includes(c.key)) throw badAttribute(c.key, FILTER_KEYS);
    const numeric = !isTag && c.key !== "name";
    const ops = numeric ? NUMBER_OPS : STRING_OPS;
    if (!ops.has(c.op)) throw badComparator(c.op, ops);
  }
  const order = parseOrderBy(p.list("order_by"));
  for (const o of order) if (!ORDER_KEYS.includes(o.key)) throw badAttribute(o.key, ORDER_KEYS);
  const all = [...s.experiments.values()].filter((e) => view === "ALL" || (view === "DELETED_ONLY") === (e.stage === "deleted")).filter((e) =>
    clauses.every((c) => {
      if (c.entity === "tags" || c.entity === "tag") {
        const t = e.tags.get(c.key);
        return t !== undefined && compareString(c.op, c.value, t);
      }
      const v = attr(e, c.key);
      return typeof v === "number" ? c.value.kind === "number" && compareNumber(c.op, c.value.n, v) : compareString(c.op, c.value, v);
    }),
  );
  // Default order: newest first; ties (and every explicit order) end with experiment_id ascending.
  const keys = order.length ? order : [{ key: "creation_time", asc: false }];
  all.sort((a, b) => keys.reduce((r, o) => r || cmp(attr(a, o.key), attr(b, o.key), o.asc), 0) || Number(a.id) - Number(b.id));
  const pg = page(all, max, p.str("page_token"));
  return { ...(pg.items.length ? { experiments: pg.items.map(experimentJson) } : {}), ...(pg.next ? { next_page_token: pg.next } : {}) };
}

export const experimentRoutes = {
  "experiments/create": { methods: ["POST"], handle: create },
  "experiments/get": { methods: ["GET"], handle: (p: Params, s: State) => ({ experiment: experimentJson(experiment(s, p.req("experiment_id"))) }) },
  "experiments/get-by-name": {
    methods: ["GET"],
    handle: (p: Params, s: State) => {
      const name = p.req("experiment_name");
      const e = s.experimentByName(name);
      if (!e) throw notFound(`Could not find experiment with name '${name}'`);
      return { experiment: experimentJson(e) };
    },
  },
  "experiments/set-experiment-tag": { methods: ["POST"], handle: setTag },
  "experiments/update": { methods: ["POST"], handle: update },
  "experiments/delete": { methods: ["POST"], handle: setStage("active", "deleted") },
  "experiments/restore": { methods: ["POST"], handle: setStage("deleted", "active") },
  "experiments/search": { methods: ["GET", "POST"], handle: search },
} as const;
