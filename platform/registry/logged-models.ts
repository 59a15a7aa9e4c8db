// MLflow 3.x logged models: create, get, finalize, tags, params, delete, search, and artifact listing.
import { randomUUID } from "node:crypto";
import type { Hono } from "hono";
import type { Handle } from "./app.ts";
import { listingDir, type ArtifactRoots } from "./locations.ts";
import { invalid, notFound } from "./errors.ts";
import { activeExperiment, experimentRow } from "./experiments.ts";
import { matches, parseFilter, sortBy, type FilterSpec, type Lookup, type OrderTerm } from "./filter.ts";
import { decodeToken, maxResults, page } from "./paging.ts";
import { listDir } from "./paths.ts";
import { Msg, compact } from "./request.ts";
import { runRow } from "./runs.ts";
import { all, col, kv, one, run, type Db, type Row } from "./store.ts";
import { trimSlashes, trimTrailingSlashes } from "../slashes.ts";

export const LOGGED_MODEL_STATUSES = ["LOGGED_MODEL_STATUS_UNSPECIFIED", "LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"] as const;
const REGISTRATIONS_TAG = "mlflow.modelVersions";

function status(v: string): (typeof LOGGED_MODEL_STATUSES)[number] {
  const s = LOGGED_MODEL_STATUSES.find((x) => x === v) ?? LOGGED_MODEL_STATUSES[Number(v)];
  if (!s || s === "LOGGED_MODEL_STATUS_UNSPECIFIED") throw invalid(`Invalid value ${JSON.stringify(v)} for parameter 'status' supplied`);
  return s;
}

function loggedRow(db: Db, id: string): Row {
  const row = one(db, "SELECT * FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'", id);
  if (!row) throw notFound(`Logged model with ID '${id}' not found.`);
  return row;
}

function loggedJson(db: Db, row: Row): Record<string, unknown> {
  const id = col.str(row, "model_id");
  const tags = kv(all(db, "SELECT key, value FROM logged_model_tags WHERE model_id = ? ORDER BY key", id));
  const reg = tags.find((t) => t.key === REGISTRATIONS_TAG);
  let registrations: unknown[];
  try {
    const parsed: unknown = reg ? JSON.parse(reg.value) : [];
    registrations = Array.isArray(parsed) ? parsed : [];
  } catch {
    registrations = [];
  }
  const metrics = all(db, "SELECT * FROM metrics WHERE model_id = ? ORDER BY key, step, timestamp", id).map((r) => compact({
    key: col.str(r, "key"), value: col.num(r, "is_nan") ? "NaN" : col.num(r, "value"), timestamp: col.num(r, "timestamp"),
    step: col.num(r, "step"), run_id: col.str(r, "run_uuid"), model_id: id,
    dataset_name: col.optStr(r, "dataset_name"), dataset_digest: col.optStr(r, "dataset_digest"),
  }));
  return {
    info: compact({
      model_id: id,
      experiment_id: String(col.num(row, "experiment_id")),
      name: col.str(row, "name"),
      creation_timestamp_ms: col.num(row, "creation_timestamp"),
      last_updated_timestamp_ms: col.num(row, "last_updated_timestamp"),
      artifact_uri: col.str(row, "artifact_location"),
      status: col.str(row, "status"),
      model_type: col.optStr(row, "model_type"),
      source_run_id: col.optStr(row, "source_run_id"),
      status_message: col.optStr(row, "status_message"),
      tags,
      registrations,
    }),
    data: compact({ params: kv(all(db, "SELECT key, value FROM logged_model_params WHERE model_id = ? ORDER BY key", id)), metrics }),
  };
}

const SEARCH: FilterSpec = {
  attributes: ["name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp", "creation_time", "last_updated_timestamp"],
  numericAttributes: ["creation_timestamp", "creation_time", "last_updated_timestamp"],
  types: ["metric", "param", "tag"],
};

function lookupFor(db: Db, r: Row): Lookup {
  const id = col.str(r, "model_id");
  return (type, key) => {
    if (type === "metric") {
      const m = one(db, "SELECT value FROM metrics WHERE model_id = ? AND key = ? AND is_nan = 0 ORDER BY step DESC, timestamp DESC LIMIT 1", id, key);
      return m ? col.num(m, "value") : undefined;
    }
    if (type === "param" || type === "tag") {
      const t = one(db, `SELECT value FROM ${type === "param" ? "logged_model_params" : "logged_model_tags"} WHERE model_id = ? AND key = ?`, id, key);
      return t ? col.str(t, "value") : undefined;
    }
    if (key === "creation_time" || key === "creation_timestamp") return col.num(r, "creation_timestamp");
    if (key === "last_updated_timestamp") return col.num(r, key);
    return col.optStr(r, key);
  };
}

function orderTerms(m: Msg): OrderTerm[] {
  return m.objList("order_by").map((o, i) => {
    const om = new Msg(o);
    const field = om.str("field_name");
    if (!field) throw invalid(`Missing value for required parameter 'order_by[${i}].field_name'.`);
    const dot = field.indexOf(".");
    const prefix = dot > 0 ? field.slice(0, dot) : "";
    const type = prefix === "metrics" ? "metric" : prefix === "params" ? "param" : prefix === "tags" ? "tag" : "attribute";
    const key = type === "attribute" ? field : field.slice(dot + 1);
    if (type === "attribute" && !SEARCH.attributes.includes(key)) throw invalid(`Invalid order by field name: ${field}`);
    return { type, key, ascending: om.bool("ascending") ?? true };
  });
}

export function registerLoggedModels(app: Hono, handle: Handle, db: Db, roots: ArtifactRoots, now: () => number): void {
  handle(app, "POST", "/mlflow/logged-models", (m) => {
    const experimentId = m.reqStr("experiment_id");
    const exp = activeExperiment(db, experimentId);
    const sourceRun = m.str("source_run_id") || undefined;
    if (sourceRun) runRow(db, sourceRun);
    const id = `m-${randomUUID().replace(/-/g, "")}`;
    const name = m.str("name") || `model-${id.slice(2, 10)}`;
    const location = `${trimTrailingSlashes(col.str(exp, "artifact_location"))}/models/${id}/artifacts`;
    const t = now();
    const params = m.keyValues("params");
    const tags = m.keyValues("tags");
    db.transaction(() => {
      run(db, "INSERT INTO logged_models VALUES (?, ?, ?, ?, ?, ?, 'LOGGED_MODEL_PENDING', 'active', ?, ?, NULL)",
        id, Number(experimentId), name, location, t, t, m.str("model_type") ?? null, sourceRun ?? null);
      for (const p of params) run(db, "INSERT OR REPLACE INTO logged_model_params VALUES (?, ?, ?)", id, p.key, p.value);
      for (const tag of tags) run(db, "INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)", id, tag.key, tag.value);
    })();
    return { model: loggedJson(db, loggedRow(db, id)) };
  });

  handle(app, "GET", "/mlflow/logged-models/:model_id", (_m, c) => ({ model: loggedJson(db, loggedRow(db, c.req.param("model_id") ?? "")) }));

  handle(app, "PATCH", "/mlflow/logged-models/:model_id", (m, c) => {
    const id = c.req.param("model_id") ?? "";
    const s = status(m.reqStr("status"));
    loggedRow(db, id);
    run(db, "UPDATE logged_models SET status = ?, last_updated_timestamp = ? WHERE model_id = ?", s, now(), id);
    return { model: loggedJson(db, loggedRow(db, id)) };
  });

  handle(app, "DELETE", "/mlflow/logged-models/:model_id", (_m, c) => {
    const id = c.req.param("model_id") ?? "";
    loggedRow(db, id);
    run(db, "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp = ? WHERE model_id = ?", now(), id);
    return {};
  });

  handle(app, "PATCH", "/mlflow/logged-models/:model_id/tags", (m, c) => {
    const id = c.req.param("model_id") ?? "";
    const tags = m.keyValues("tags");
    loggedRow(db, id);
    db.transaction(() => {
      for (const tag of tags) run(db, "INSERT OR REPLACE INTO logged_model_tags VALUES (?, ?, ?)", id, tag.key, tag.value);
      run(db, "UPDATE logged_models SET last_updated_timestamp = ? WHERE model_id = ?", now(), id);
    })();
    return { model: loggedJson(db, loggedRow(db, id)) };
  });

  handle(app, "DELETE", "/mlflow/logged-models/:model_id/tags/:tag_key", (_m, c) => {
    const id = c.req.param("model_id") ?? "";
    const key = c.req.param("tag_key") ?? "";
    loggedRow(db, id);
    const res = run(db, "DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?", id, key);
    if (res.changes === 0) throw notFound(`No tag with key '${key}' found for logged model '${id}'.`);
    return {};
  });

  handle(app, "POST", "/mlflow/logged-models/:model_id/params", (m, c) => {
    const id = c.req.param("model_id") ?? "";
    const params = m.keyValues("params");
    loggedRow(db, id);
    db.transaction(() => {
      for (const p of params) run(db, "INSERT OR REPLACE INTO logged_model_params VALUES (?, ?, ?)", id, p.key, p.value);
    })();
    return {};
  });

  handle(app, "POST", "/mlflow/logged-models/search", (m) => {
    const ids = m.strList("experiment_ids");
    ids.forEach((id) => experimentRow(db, id));
    const limit = maxResults(m.int("max_results"), 50, 1000);
    const offset = decodeToken(m.str("page_token"));
    const clauses = parseFilter(m.str("filter"), SEARCH);
    const order = orderTerms(m);
    const rows = ids.length
      ? all(db, `SELECT * FROM logged_models WHERE lifecycle_stage = 'active' AND experiment_id IN (${ids.map(() => "?").join(",")})`, ...ids.map(Number))
      : [];
    const sorted = rows
      .filter((r) => matches(clauses, lookupFor(db, r)))
      .sort(sortBy(order, (r) => lookupFor(db, r), (a, b) =>
        col.num(b, "creation_timestamp") - col.num(a, "creation_timestamp") || col.str(a, "model_id").localeCompare(col.str(b, "model_id"))));
    const p = page(sorted, offset, limit);
    return compact({ models: p.items.map((r) => loggedJson(db, r)), next_page_token: p.next });
  });

  handle(app, "GET", "/mlflow/logged-models/:model_id/artifacts/directories", (m, c) => {
    const row = loggedRow(db, c.req.param("model_id") ?? "");
    const uri = col.str(row, "artifact_location");
    const rel = m.str("artifact_directory_path") ?? "";
    const dir = listingDir(roots, uri, rel);
    if (!dir) return { root_uri: uri };
    return compact({ root_uri: uri, files: listDir(dir, trimSlashes(rel)) });
  });
}
