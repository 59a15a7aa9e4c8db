// Model versions: create (runs:/, models:/, artifact URIs), get, update, delete, search, tags, stages, download URI.
import path from "node:path";
import type { Hono } from "hono";
import type { Handle } from "./app.ts";
import { invalid, notFound } from "./errors.ts";
import { parseFilter, parseOrderBy, type FilterSpec } from "./filter.ts";
import { locate, type ArtifactRoots } from "./locations.ts";
import { modelRow } from "./models.ts";
import { checkRelative } from "./paths.ts";
import { decodeToken, encodeToken, maxResults } from "./paging.ts";
import { compileWhere, pageOf, rowsByIds, searchIds, type SqlSchema } from "./sql-search.ts";
import { compact, type Msg } from "./request.ts";
import { runRow } from "./runs.ts";
import { all, col, kv, one, run, type Db, type Row } from "./store.ts";
import { trimSlashes } from "../slashes.ts";

export const STAGES = ["None", "Staging", "Production", "Archived"] as const;
const DELETED = "Deleted_Internal";

export function versionRow(db: Db, name: string, version: string): Row {
  const row = /^\d+$/.test(version)
    ? one(db, "SELECT * FROM model_versions WHERE name = ? AND version = ? AND current_stage != ?", name, Number(version), DELETED)
    : undefined;
  if (!row) {
    if (!/^\d+$/.test(version)) throw invalid(`Parameter 'version' must be an integer, got '${version}'.`);
    throw notFound(`Model Version (name=${name}, version=${version}) not found`);
  }
  return row;
}

/**
 * A model version as MLflow 2.17 answers it: description, run_id and run_link are always present ("" when unset);
 * aliases are listed on a version itself, but not on the latest_versions of a registered model.
 */
export function versionJson(db: Db, row: Row, withAliases = true): Record<string, unknown> {
  const name = col.str(row, "name");
  const version = col.num(row, "version");
  return compact({
    name,
    version: String(version),
    creation_timestamp: col.num(row, "creation_timestamp"),
    last_updated_timestamp: col.num(row, "last_updated_timestamp"),
    user_id: col.optStr(row, "user_id"),
    current_stage: col.str(row, "current_stage"),
    description: col.str(row, "description"),
    source: col.str(row, "source"),
    run_id: col.str(row, "run_id"),
    status: col.str(row, "status"),
    status_message: col.optStr(row, "status_message"),
    tags: kv(all(db, "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ? ORDER BY key", name, version)),
    run_link: col.str(row, "run_link"),
    aliases: withAliases
      ? all(db, "SELECT alias FROM aliases WHERE name = ? AND version = ? ORDER BY alias", name, version).map((a) => col.str(a, "alias"))
      : undefined,
    model_id: col.optStr(row, "model_id"),
  });
}

const isLocal = (uri: string): boolean => uri.startsWith("file:") || uri.startsWith("/") || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri);

type Resolved = { storage: string; runId?: string | undefined; modelId?: string | undefined };

/** Where a source's files live, plus the run and logged model it names; local storage confined to the artifact roots. */
function resolveSource(db: Db, roots: ArtifactRoots, source: string, runId: string | undefined): Resolved {
  const resolved = resolveStorage(db, source, runId);
  // Checked on what the source resolves to: a runs:/ sub-path or a models:/ hop must not lead out of the roots either.
  locate(roots, resolved.storage, "model version source");
  return resolved;
}

function resolveStorage(db: Db, source: string, runId: string | undefined): Resolved {
  const traversal = `Invalid model version source: '${source}'. Path traversal is not allowed.`;
  if (source.split(/[/\\]/).includes("..")) throw invalid(traversal);
  const runs = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
  if (runs) {
    const id = runs[1] ?? "";
    const r = runRow(db, id);
    let sub: string;
    try {
      // The same rules as a client's artifact path: no encoded dots or slashes, no absolute or over-long paths.
      sub = checkRelative(trimSlashes(runs[2] ?? ""));
    } catch {
      throw invalid(traversal);
    }
    return { storage: sub ? `${col.str(r, "artifact_uri")}/${sub}` : col.str(r, "artifact_uri"), runId: runId ?? id };
  }
  const logged = /^models:\/(m-[0-9a-f]+)\/?$/.exec(source);
  if (logged) {
    const id = logged[1] ?? "";
    const lm = one(db, "SELECT * FROM logged_models WHERE model_id = ?", id);
    if (!lm) throw notFound(`Logged model with ID '${id}' not found.`);
    return { storage: col.str(lm, "artifact_location"), runId: runId ?? col.optStr(lm, "source_run_id"), modelId: id };
  }
  const byVersion = /^models:\/([^/@]+)(?:\/(\d+)|@(.+))$/.exec(source);
  if (byVersion) {
    const name = byVersion[1] ?? "";
    const v = byVersion[2] ?? aliasVersion(db, name, byVersion[3] ?? "");
    const row = versionRow(db, name, v);
    return { storage: col.optStr(row, "storage_location") ?? col.str(row, "source"), runId: runId ?? col.optStr(row, "run_id") };
  }
  if (isLocal(source)) {
    // MLflow only accepts a local path inside the artifact directory of the given run.
    const message = `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`;
    if (!runId) throw invalid(message);
    const root = col.str(runRow(db, runId), "artifact_uri");
    const strip = (u: string): string => path.resolve(u.replace(/^file:\/\//, "").replace(/^file:/, ""));
    if (!isLocal(root) || !(strip(source) + path.sep).startsWith(strip(root) + path.sep)) throw invalid(message);
  }
  return { storage: source, runId };
}

/** The version an alias points at; a missing alias (or model) is 400 INVALID_PARAMETER_VALUE, as in MLflow 2.x and 3.x. */
export function aliasVersion(db: Db, name: string, alias: string): string {
  const a = one(db, "SELECT version FROM aliases WHERE name = ? AND alias = ?", name, alias);
  if (!a) throw invalid(`Registered model alias ${alias} not found.`);
  return String(col.num(a, "version"));
}

const SEARCH: FilterSpec = {
  attributes: ["name", "version_number", "run_id", "source_path", "version"],
  numericAttributes: ["version_number"],
  types: ["tag"],
};
/** Model versions in SQL; `version` filters as text (MLflow compares it as a string), version_number as a number. */
const VERSION_SQL: SqlSchema = {
  attributes: {
    name: "v.name", version_number: "v.version", version: "CAST(v.version AS TEXT)", run_id: "v.run_id", source_path: "v.source",
    creation_timestamp: "v.creation_timestamp", last_updated_timestamp: "v.last_updated_timestamp",
  },
  children: { tag: { table: "model_version_tags", join: (a) => `${a}.name = v.name AND ${a}.version = v.version` } },
  notNull: ["v.name", "v.version", "CAST(v.version AS TEXT)", "v.creation_timestamp", "v.last_updated_timestamp"],
};
const ORDER: FilterSpec = {
  attributes: ["name", "version_number", "creation_timestamp", "last_updated_timestamp", "version"],
  numericAttributes: [],
  types: [],
};

export function registerVersions(app: Hono, handle: Handle, db: Db, roots: ArtifactRoots, now: () => number): void {
  handle(app, "POST", "/mlflow/model-versions/create", (m) => {
    const name = m.reqStr("name");
    const source = m.reqStr("source");
    const tags = m.keyValues("tags");
    modelRow(db, name);
    const resolved = resolveSource(db, roots, source, m.str("run_id") || undefined);
    const modelId = m.str("model_id") || resolved.modelId;
    const t = now();
    // One synchronous transaction: version numbers cannot collide, whatever the request concurrency.
    const version = db.transaction(() => {
      const max = one(db, "SELECT MAX(version) AS v FROM model_versions WHERE name = ?", name);
      const v = (max ? col.num(max, "v") : 0) + 1;
      run(db, "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, description, user_id, current_stage, source, storage_location, run_id, run_link, model_id, status) VALUES (?, ?, ?, ?, ?, NULL, 'None', ?, ?, ?, ?, ?, 'READY')",
        name, v, t, t, m.str("description") ?? null, source, resolved.storage, resolved.runId ?? null, m.str("run_link") ?? null, modelId ?? null);
      for (const tag of tags) run(db, "INSERT OR REPLACE INTO model_version_tags VALUES (?, ?, ?, ?)", name, v, tag.key, tag.value);
      run(db, "UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?", t, name);
      if (modelId) run(db, "INSERT OR REPLACE INTO logged_model_tags VALUES (?, 'mlflow.modelVersions', ?)", modelId, registrationsTag(db, modelId, name, v));
      return v;
    })();
    return { model_version: versionJson(db, versionRow(db, name, String(version))) };
  });

  handle(app, "GET", "/mlflow/model-versions/get", (m) => ({
    model_version: versionJson(db, versionRow(db, m.reqStr("name"), m.reqStr("version"))),
  }));

  handle(app, "PATCH", "/mlflow/model-versions/update", (m) => {
    const name = m.reqStr("name");
    const version = m.reqStr("version");
    versionRow(db, name, version);
    const description = m.str("description");
    if (description !== undefined) {
      run(db, "UPDATE model_versions SET description = ?, last_updated_timestamp = ? WHERE name = ? AND version = ?", description, now(), name, Number(version));
    }
    return { model_version: versionJson(db, versionRow(db, name, version)) };
  });

  handle(app, "DELETE", "/mlflow/model-versions/delete", (m) => {
    const name = m.reqStr("name");
    const version = m.reqStr("version");
    versionRow(db, name, version);
    // Like MLflow, keep the row (as Deleted_Internal) so its number is never reused.
    db.transaction(() => {
      run(db, "UPDATE model_versions SET current_stage = ?, last_updated_timestamp = ? WHERE name = ? AND version = ?", DELETED, now(), name, Number(version));
      run(db, "DELETE FROM model_version_tags WHERE name = ? AND version = ?", name, Number(version));
      run(db, "DELETE FROM aliases WHERE name = ? AND version = ?", name, Number(version));
    })();
    return {};
  });

  handle(app, "POST", "/mlflow/model-versions/transition-stage", (m) => {
    const name = m.reqStr("name");
    const version = m.reqStr("version");
    const stageIn = m.reqStr("stage");
    const stage = STAGES.find((s) => s.toLowerCase() === stageIn.toLowerCase());
    if (!stage) throw invalid(`Invalid Model Version stage: ${stageIn}. Value must be one of ${STAGES.join(", ")}.`);
    const archive = m.bool("archive_existing_versions") ?? false;
    versionRow(db, name, version);
    const t = now();
    db.transaction(() => {
      if (archive && (stage === "Staging" || stage === "Production")) {
        run(db, "UPDATE model_versions SET current_stage = 'Archived', last_updated_timestamp = ? WHERE name = ? AND current_stage = ? AND version != ?", t, name, stage, Number(version));
      }
      run(db, "UPDATE model_versions SET current_stage = ?, last_updated_timestamp = ? WHERE name = ? AND version = ?", stage, t, name, Number(version));
    })();
    return { model_version: versionJson(db, versionRow(db, name, version)) };
  });

  const search = (m: Msg): Record<string, unknown> => {
    const limit = maxResults(m.int("max_results"), 10000, 200000);
    const offset = decodeToken(m.str("page_token"));
    const clauses = parseFilter(m.str("filter"), SEARCH);
    // Ordered by `version`, versions sort as numbers (version_number).
    const order = parseOrderBy(m.strList("order_by"), ORDER).map((o) => (o.key === "version" ? { ...o, key: "version_number" } : o));
    const ids = searchIds(db, {
      schema: VERSION_SQL,
      from: "model_versions v",
      id: "v.rowid",
      where: [{ sql: "v.current_stage != ?", args: [DELETED] }, ...compileWhere(clauses, VERSION_SQL)],
      terms: order,
      // MLflow's tie-break: name ASC, then version DESC, each unless ordered by it already.
      tiebreak: [
        ...(order.some((t) => t.key === "name") ? [] : ["v.name"]),
        ...(order.some((t) => t.key === "version_number") ? [] : ["v.version DESC"]),
      ],
      limit,
      offset,
    });
    const p = pageOf(ids, offset, limit, encodeToken);
    const rows = rowsByIds(db, "model_versions", "rowid", p.items.map(Number));
    return compact({ model_versions: rows.map((r) => versionJson(db, r)), next_page_token: p.next });
  };
  handle(app, "GET", "/mlflow/model-versions/search", search);
  handle(app, "POST", "/mlflow/model-versions/search", search);

  handle(app, "GET", "/mlflow/model-versions/get-download-uri", (m) => {
    // The source verbatim (runs:/..., models:/m-...), as MLflow answers it: a 3.x client resolves those itself.
    const row = versionRow(db, m.reqStr("name"), m.reqStr("version"));
    return { artifact_uri: col.str(row, "source") };
  });

  handle(app, "POST", "/mlflow/model-versions/set-tag", (m) => {
    const name = m.reqStr("name");
    const version = m.reqStr("version");
    const key = m.reqStr("key");
    versionRow(db, name, version);
    run(db, "INSERT OR REPLACE INTO model_version_tags VALUES (?, ?, ?, ?)", name, Number(version), key, m.str("value") ?? "");
    return {};
  });

  handle(app, "DELETE", "/mlflow/model-versions/delete-tag", (m) => {
    const name = m.reqStr("name");
    const version = m.reqStr("version");
    const key = m.reqStr("key");
    versionRow(db, name, version);
    run(db, "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?", name, Number(version), key);
    return {};
  });
}

/** Logged models list their registrations; kept as a JSON tag so the logged-models module can report them. */
function registrationsTag(db: Db, modelId: string, name: string, version: number): string {
  const cur = one(db, "SELECT value FROM logged_model_tags WHERE model_id = ? AND key = 'mlflow.modelVersions'", modelId);
  let list: unknown;
  try {
    list = cur ? JSON.parse(col.str(cur, "value")) : [];
  } catch {
    list = [];
  }
  const arr = Array.isArray(list) ? list : [];
  arr.push({ name, version: String(version) });
  return JSON.stringify(arr);
}
