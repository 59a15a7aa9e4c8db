// Registered models: create, get, rename, update, delete, search, tags, latest versions.
import type { Hono } from "hono";
import type { Handle } from "./app.ts";
import { exists, invalid, notFound } from "./errors.ts";
import { parseFilter, parseOrderBy, type FilterSpec } from "./filter.ts";
import { decodeToken, encodeToken, maxResults } from "./paging.ts";
import { compileWhere, pageOf, rowsByIds, searchIds, type SqlSchema } from "./sql-search.ts";
import { compact, type Msg } from "./request.ts";
import { all, col, kv, one, run, type Db, type Row } from "./store.ts";
import { versionJson } from "./versions.ts";
import { EXPERIMENT_TAG_VALUE_MAX } from "./experiments.ts";

export function modelRow(db: Db, name: string): Row {
  const row = one(db, "SELECT * FROM registered_models WHERE name = ?", name);
  if (!row) throw notFound(`Registered Model with name=${name} not found`);
  return row;
}

export function validateModelName(name: string): void {
  if (!name.trim()) throw invalid("Registered model name cannot be empty.");
  if (name.length > 256) throw invalid("Registered model name exceeds the maximum length of 256 characters.");
}

function latestVersions(db: Db, name: string, stages: readonly string[]): Row[] {
  const rows = all(db, "SELECT * FROM model_versions WHERE name = ? AND current_stage != 'Deleted_Internal' ORDER BY version DESC", name);
  const byStage = new Map<string, Row>();
  for (const r of rows) {
    const stage = col.str(r, "current_stage");
    if (!byStage.has(stage)) byStage.set(stage, r);
  }
  const wanted = stages.length ? stages.map((s) => s.toLowerCase()) : undefined;
  return [...byStage.entries()]
    .filter(([s]) => !wanted || wanted.includes(s.toLowerCase()))
    .map(([, r]) => r)
    .sort((a, b) => col.num(a, "version") - col.num(b, "version"));
}

export function modelJson(db: Db, row: Row): Record<string, unknown> {
  const name = col.str(row, "name");
  return compact({
    name,
    creation_timestamp: col.num(row, "creation_timestamp"),
    last_updated_timestamp: col.num(row, "last_updated_timestamp"),
    user_id: col.optStr(row, "user_id"),
    description: col.optStr(row, "description"),
    latest_versions: latestVersions(db, name, []).map((r) => versionJson(db, r, false)),
    tags: kv(all(db, "SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY key", name)),
    aliases: all(db, "SELECT alias, version FROM aliases WHERE name = ? ORDER BY alias", name).map((a) => ({
      alias: col.str(a, "alias"), version: String(col.num(a, "version")),
    })),
  });
}

const SEARCH: FilterSpec = { attributes: ["name"], numericAttributes: [], types: ["tag"] };
/** Registered models in SQL: name and timestamps; tags as a key/value table. */
const MODEL_SQL: SqlSchema = {
  attributes: { name: "m.name", last_updated_timestamp: "m.last_updated_timestamp", creation_timestamp: "m.creation_timestamp", timestamp: "m.last_updated_timestamp" },
  children: { tag: { table: "registered_model_tags", join: (a) => `${a}.name = m.name` } },
  notNull: ["m.name", "m.last_updated_timestamp", "m.creation_timestamp"],
  // A model without the tag matches `tag.x != 'v'`, as MLflow answers it: every 3.x client adds
  // ``tag.`mlflow.prompt.is_prompt` != 'true'`` to search_registered_models().
  absentMatchesNotEqual: ["tag"],
};
const ORDER: FilterSpec = { attributes: ["name", "last_updated_timestamp", "creation_timestamp", "timestamp"], numericAttributes: [], types: [] };

export function registerModels(app: Hono, handle: Handle, db: Db, now: () => number): void {
  handle(app, "POST", "/mlflow/registered-models/create", (m) => {
    const name = m.reqStr("name");
    validateModelName(name);
    const tags = m.keyValues("tags");
    if (one(db, "SELECT 1 FROM registered_models WHERE name = ?", name)) throw exists(`Registered Model (name=${name}) already exists.`);
    const t = now();
    db.transaction(() => {
      run(db, "INSERT INTO registered_models VALUES (?, ?, ?, ?, ?)", name, t, t, m.str("description") ?? null, null);
      for (const tag of tags) run(db, "INSERT OR REPLACE INTO registered_model_tags VALUES (?, ?, ?)", name, tag.key, tag.value);
    })();
    return { registered_model: modelJson(db, modelRow(db, name)) };
  });

  handle(app, "GET", "/mlflow/registered-models/get", (m) => ({ registered_model: modelJson(db, modelRow(db, m.reqStr("name"))) }));

  handle(app, "POST", "/mlflow/registered-models/rename", (m) => {
    const name = m.reqStr("name");
    const newName = m.reqStr("new_name");
    validateModelName(newName);
    modelRow(db, name);
    if (newName !== name && one(db, "SELECT 1 FROM registered_models WHERE name = ?", newName)) {
      throw exists(`Registered Model (name=${newName}) already exists.`);
    }
    db.transaction(() => {
      for (const table of ["registered_models", "registered_model_tags", "model_versions", "model_version_tags", "aliases"]) {
        run(db, `UPDATE ${table} SET name = ? WHERE name = ?`, newName, name);
      }
      run(db, "UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?", now(), newName);
    })();
    return { registered_model: modelJson(db, modelRow(db, newName)) };
  });

  handle(app, "PATCH", "/mlflow/registered-models/update", (m) => {
    const name = m.reqStr("name");
    modelRow(db, name);
    const description = m.str("description");
    if (description !== undefined) {
      run(db, "UPDATE registered_models SET description = ?, last_updated_timestamp = ? WHERE name = ?", description, now(), name);
    }
    return { registered_model: modelJson(db, modelRow(db, name)) };
  });

  handle(app, "DELETE", "/mlflow/registered-models/delete", (m) => {
    const name = m.reqStr("name");
    modelRow(db, name);
    db.transaction(() => {
      for (const table of ["registered_models", "registered_model_tags", "model_versions", "model_version_tags", "aliases"]) {
        run(db, `DELETE FROM ${table} WHERE name = ?`, name);
      }
    })();
    return {};
  });

  const search = (m: Msg): Record<string, unknown> => {
    const offset = decodeToken(m.str("page_token"));
    // MLflow answers max_results=0 with no models and a page token at the same offset.
    if (m.int("max_results") === 0) return { next_page_token: encodeToken(offset) };
    const limit = maxResults(m.int("max_results"), 100, 1000);
    const clauses = parseFilter(m.str("filter"), SEARCH);
    const order = parseOrderBy(m.strList("order_by"), ORDER);
    const ids = searchIds(db, {
      schema: MODEL_SQL,
      from: "registered_models m",
      id: "m.name",
      where: compileWhere(clauses, MODEL_SQL),
      terms: order,
      tiebreak: order.some((t) => t.key === "name") ? [] : ["m.name"],
      limit,
      offset,
    });
    const p = pageOf(ids, offset, limit, encodeToken);
    const rows = rowsByIds(db, "registered_models", "name", p.items);
    return compact({ registered_models: rows.map((r) => modelJson(db, r)), next_page_token: p.next });
  };
  // GET only, as in MLflow 2.17 (a POST is 405).
  handle(app, "GET", "/mlflow/registered-models/search", search);

  const latest = (m: Msg): Record<string, unknown> => {
    const name = m.reqStr("name");
    modelRow(db, name);
    return compact({ model_versions: latestVersions(db, name, m.strList("stages")).map((r) => versionJson(db, r)) });
  };
  handle(app, "POST", "/mlflow/registered-models/get-latest-versions", latest);
  handle(app, "GET", "/mlflow/registered-models/get-latest-versions", latest);

  handle(app, "POST", "/mlflow/registered-models/set-tag", (m) => {
    const name = m.reqStr("name");
    const key = m.reqStr("key");
    const value = m.str("value") ?? "";
    if (value.length > EXPERIMENT_TAG_VALUE_MAX) throw invalid(`'value' exceeds the maximum length of ${EXPERIMENT_TAG_VALUE_MAX} characters`);
    modelRow(db, name);
    run(db, "INSERT OR REPLACE INTO registered_model_tags VALUES (?, ?, ?)", name, key, value);
    return {};
  });

  handle(app, "DELETE", "/mlflow/registered-models/delete-tag", (m) => {
    const name = m.reqStr("name");
    const key = m.reqStr("key");
    modelRow(db, name);
    run(db, "DELETE FROM registered_model_tags WHERE name = ? AND key = ?", name, key);
    return {};
  });
}
