// Experiments: create, get, get-by-name, search, update, delete/restore, experiment tags.
import type { Hono } from "hono";
import { exists, invalid, MlflowApiError, notFound } from "./errors.ts";
import { validateKey } from "./limits.ts";

/** MLflow 2.17's limit for experiment and registered-model tag values. */
export const EXPERIMENT_TAG_VALUE_MAX = 5000;
import { matches, memoize, parseFilter, parseOrderBy, sortBy, type FilterSpec, type Lookup } from "./filter.ts";
import { decodeToken, maxResults, page } from "./paging.ts";
import { compact, type Msg } from "./request.ts";
import { ARTIFACT_SCHEME, all, col, kv, one, run, type Db, type Row } from "./store.ts";
import type { Handle } from "./app.ts";
import { checkExperimentLocation, type ArtifactRoots } from "./locations.ts";

export const VIEW_TYPES = ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"] as const;
export type ViewType = (typeof VIEW_TYPES)[number];

export function viewType(m: Msg, field: string): ViewType {
  const v = m.str(field) ?? "ACTIVE_ONLY";
  const named = VIEW_TYPES.find((t) => t === v);
  if (named) return named;
  // Enum numbers are accepted too (1, 2, 3), as protobuf JSON parsing does.
  const byNumber = VIEW_TYPES[Number(v) - 1];
  if (byNumber) return byNumber;
  throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${field}' supplied`);
}

export const stageMatches = (stage: string, view: ViewType): boolean =>
  view === "ALL" || (view === "ACTIVE_ONLY" ? stage === "active" : stage === "deleted");

export function experimentRow(db: Db, id: string): Row {
  const row = /^\d+$/.test(id) ? one(db, "SELECT * FROM experiments WHERE experiment_id = ?", Number(id)) : undefined;
  if (!row) throw notFound(`No Experiment with id=${id} exists`);
  return row;
}

export function activeExperiment(db: Db, id: string): Row {
  const row = experimentRow(db, id);
  if (col.str(row, "lifecycle_stage") !== "active") {
    throw invalid(`The experiment ${id} must be in the 'active' state. Current state is ${col.str(row, "lifecycle_stage")}.`);
  }
  return row;
}

export function experimentJson(db: Db, row: Row): Record<string, unknown> {
  const id = col.num(row, "experiment_id");
  return compact({
    experiment_id: String(id),
    name: col.str(row, "name"),
    artifact_location: col.str(row, "artifact_location"),
    lifecycle_stage: col.str(row, "lifecycle_stage"),
    last_update_time: col.num(row, "last_update_time"),
    creation_time: col.num(row, "creation_time"),
    tags: kv(all(db, "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key", id)),
  });
}

const SEARCH: FilterSpec = {
  attributes: ["name", "creation_time", "last_update_time", "experiment_id"],
  numericAttributes: ["creation_time", "last_update_time"],
  types: ["tag"],
};

function validateName(name: string): void {
  if (name.length > 500) throw invalid(`Experiment name exceeds the maximum length of 500 characters`);
}

export function registerExperiments(app: Hono, handle: Handle, db: Db, roots: ArtifactRoots, now: () => number): void {
  handle(app, "POST", "/mlflow/experiments/create", (m) => {
    const name = m.reqText("name");
    validateName(name);
    const tags = m.keyValues("tags");
    const given = m.str("artifact_location");
    if (given) checkExperimentLocation(roots, given);
    const found = one(db, "SELECT lifecycle_stage FROM experiments WHERE name = ?", name);
    if (found) {
      const deleted = col.str(found, "lifecycle_stage") === "deleted";
      throw exists(
        deleted
          ? `Experiment '${name}' already exists in deleted state. You can restore the experiment, or permanently delete it from the .trash folder before creating a new one with the same name.`
          : `Experiment '${name}' already exists.`,
      );
    }
    const t = now();
    const id = db.transaction(() => {
      const res = run(
        db,
        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, '', 'active', ?, ?)",
        name, t, t,
      );
      const newId = Number(res.lastInsertRowid);
      const location = given || `${ARTIFACT_SCHEME}/${newId}`;
      run(db, "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?", location, newId);
      for (const tag of tags) run(db, "INSERT OR REPLACE INTO experiment_tags VALUES (?, ?, ?)", newId, tag.key, tag.value);
      return newId;
    })();
    return { experiment_id: String(id) };
  });

  handle(app, "GET", "/mlflow/experiments/get", (m) => ({ experiment: experimentJson(db, experimentRow(db, m.reqStr("experiment_id"))) }));

  handle(app, "GET", "/mlflow/experiments/get-by-name", (m) => {
    const name = m.reqStr("experiment_name");
    const row = one(db, "SELECT * FROM experiments WHERE name = ?", name);
    if (!row) throw notFound(`Could not find experiment with name '${name}'`);
    return { experiment: experimentJson(db, row) };
  });

  const search = (m: Msg): Record<string, unknown> => {
    // MLflow 2.17 requires max_results here (the proto default 0 is refused); its clients always send it.
    const given = m.int("max_results") ?? 0;
    if (given <= 0) throw invalid(`Invalid value ${given} for parameter 'max_results' supplied. It must be a positive integer`);
    const limit = maxResults(given, 1000, 50000);
    const offset = decodeToken(m.str("page_token"));
    const view = viewType(m, "view_type");
    const clauses = parseFilter(m.str("filter"), SEARCH);
    const order = parseOrderBy(m.strList("order_by"), SEARCH);
    const rows = all(db, "SELECT * FROM experiments").filter((r) => stageMatches(col.str(r, "lifecycle_stage"), view));
    const lookupOf = memoize((r: Row): Lookup => (type, key) => {
      if (type === "tag") {
        const t = one(db, "SELECT value FROM experiment_tags WHERE experiment_id = ? AND key = ?", col.num(r, "experiment_id"), key);
        return t ? col.str(t, "value") : undefined;
      }
      if (key === "experiment_id") return String(col.num(r, key));
      return key === "name" ? col.str(r, key) : col.num(r, key);
    });
    const defaultOrder = order.length ? order : [{ type: "attribute" as const, key: "creation_time", ascending: false }];
    const sorted = rows
      .filter((r) => matches(clauses, lookupOf(r)))
      // Tiebreak by experiment id DESC, as service.proto SearchExperiments documents.
      .sort(sortBy(defaultOrder, lookupOf, (a, b) => col.num(b, "experiment_id") - col.num(a, "experiment_id")));
    const p = page(sorted, offset, limit);
    return compact({ experiments: p.items.map((r) => experimentJson(db, r)), next_page_token: p.next });
  };
  handle(app, "POST", "/mlflow/experiments/search", search);
  handle(app, "GET", "/mlflow/experiments/search", search);

  handle(app, "POST", "/mlflow/experiments/update", (m) => {
    const id = m.reqStr("experiment_id");
    const newName = m.reqStr("new_name");
    const row = activeExperiment(db, id);
    if (newName !== col.str(row, "name")) {
      validateName(newName);
      // MLflow answers this from its UNIQUE constraint: 400 BAD_REQUEST (with the SQL text, which Flywheel leaves out).
      if (one(db, "SELECT 1 FROM experiments WHERE name = ?", newName)) throw new MlflowApiError("BAD_REQUEST", `Experiment '${newName}' already exists.`);
      run(db, "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?", newName, now(), Number(id));
    }
    return {};
  });

  const setStage = (stage: "active" | "deleted") => (m: Msg) => {
    const id = m.reqStr("experiment_id");
    const row = experimentRow(db, id);
    // MLflow looks the experiment up in the other stage: deleting a deleted one or restoring an active one is 404.
    if (col.str(row, "lifecycle_stage") === stage) throw notFound(`No Experiment with id=${id} exists`);
    const t = now();
    db.transaction(() => {
      run(db, "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?", stage, t, Number(id));
      run(db, "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?", stage, stage === "deleted" ? t : null, Number(id));
    })();
    return {};
  };
  handle(app, "POST", "/mlflow/experiments/delete", setStage("deleted"));
  handle(app, "POST", "/mlflow/experiments/restore", setStage("active"));

  handle(app, "POST", "/mlflow/experiments/set-experiment-tag", (m) => {
    const id = m.reqStr("experiment_id");
    const key = m.reqStr("key");
    const value = m.str("value") ?? "";
    validateKey("Tag", key);
    if (value.length > EXPERIMENT_TAG_VALUE_MAX) {
      throw invalid(`'value' exceeds the maximum length of ${EXPERIMENT_TAG_VALUE_MAX} characters`);
    }
    activeExperiment(db, id);
    run(db, "INSERT OR REPLACE INTO experiment_tags VALUES (?, ?, ?)", Number(id), key, value);
    return {};
  });

  handle(app, "POST", "/mlflow/experiments/delete-experiment-tag", (m) => {
    const id = m.reqStr("experiment_id");
    const key = m.reqStr("key");
    activeExperiment(db, id);
    const res = run(db, "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", Number(id), key);
    if (res.changes === 0) throw notFound(`No tag with name: ${key} in experiment with id ${id}`);
    return {};
  });
}
