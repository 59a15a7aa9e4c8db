// SQLite storage for the embedded MLflow server: schema, the default experiment, and small typed query helpers.
import path from "node:path";
import Database from "better-sqlite3";
import { ensurePrivateDir, privateFile } from "../private-files.ts";

export type Db = Database.Database;
export type Row = Record<string, unknown>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS experiments (
  experiment_id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  artifact_location TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  creation_time INTEGER NOT NULL,
  last_update_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS experiment_tags (
  experiment_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (experiment_id, key)
);
CREATE TABLE IF NOT EXISTS runs (
  run_uuid TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  experiment_id INTEGER NOT NULL,
  user_id TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  start_time INTEGER,
  end_time INTEGER,
  artifact_uri TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  deleted_time INTEGER
);
-- runs/search walks an experiment's runs in MLflow's default order (start_time DESC, run_uuid) on this index.
DROP INDEX IF EXISTS runs_experiment;
CREATE INDEX IF NOT EXISTS runs_search ON runs (experiment_id, lifecycle_stage, start_time DESC, run_uuid);
CREATE INDEX IF NOT EXISTS runs_by_name ON runs (experiment_id, lifecycle_stage, name);
-- Covers the scope and tie-break columns when a search reaches runs from a metric, param or tag.
CREATE INDEX IF NOT EXISTS runs_by_id ON runs (run_uuid, experiment_id, lifecycle_stage, start_time);
CREATE TABLE IF NOT EXISTS params (run_uuid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_uuid, key));
CREATE TABLE IF NOT EXISTS tags (run_uuid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_uuid, key));
CREATE TABLE IF NOT EXISTS metrics (
  run_uuid TEXT NOT NULL, key TEXT NOT NULL, value REAL, is_nan INTEGER NOT NULL DEFAULT 0,
  timestamp INTEGER NOT NULL, step INTEGER NOT NULL DEFAULT 0, model_id TEXT, dataset_name TEXT, dataset_digest TEXT,
  seq INTEGER PRIMARY KEY AUTOINCREMENT
);
CREATE UNIQUE INDEX IF NOT EXISTS metrics_unique ON metrics (run_uuid, key, timestamp, step, value, is_nan);
CREATE TABLE IF NOT EXISTS latest_metrics (
  run_uuid TEXT NOT NULL, key TEXT NOT NULL, value REAL, is_nan INTEGER NOT NULL DEFAULT 0,
  timestamp INTEGER NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (run_uuid, key)
);
-- Search indexes: (key, value) walks a metric/param/tag in sort order; (run_uuid, key, value) answers a filter or a
-- secondary sort key without reading the table.
CREATE INDEX IF NOT EXISTS latest_metrics_key_value ON latest_metrics (key, is_nan, value, run_uuid);
CREATE INDEX IF NOT EXISTS latest_metrics_run_key_value ON latest_metrics (run_uuid, key, is_nan, value);
CREATE INDEX IF NOT EXISTS params_key_value ON params (key, value, run_uuid);
CREATE INDEX IF NOT EXISTS params_run_key_value ON params (run_uuid, key, value);
CREATE INDEX IF NOT EXISTS tags_key_value ON tags (key, value, run_uuid);
CREATE INDEX IF NOT EXISTS tags_run_key_value ON tags (run_uuid, key, value);
CREATE TABLE IF NOT EXISTS run_inputs (
  run_uuid TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT
);
CREATE TABLE IF NOT EXISTS run_outputs (
  run_uuid TEXT NOT NULL, model_id TEXT NOT NULL, step INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_uuid, model_id)
);
CREATE TABLE IF NOT EXISTS registered_models (
  name TEXT PRIMARY KEY, creation_timestamp INTEGER NOT NULL, last_updated_timestamp INTEGER NOT NULL,
  description TEXT, user_id TEXT
);
CREATE TABLE IF NOT EXISTS registered_model_tags (
  name TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key)
);
CREATE TABLE IF NOT EXISTS model_versions (
  name TEXT NOT NULL, version INTEGER NOT NULL,
  creation_timestamp INTEGER NOT NULL, last_updated_timestamp INTEGER NOT NULL,
  description TEXT, user_id TEXT, current_stage TEXT NOT NULL DEFAULT 'None',
  source TEXT NOT NULL, storage_location TEXT, run_id TEXT, run_link TEXT, model_id TEXT,
  status TEXT NOT NULL DEFAULT 'READY', status_message TEXT,
  PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS model_version_tags (
  name TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, version, key)
);
CREATE TABLE IF NOT EXISTS aliases (
  name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias)
);
CREATE TABLE IF NOT EXISTS logged_models (
  model_id TEXT PRIMARY KEY, experiment_id INTEGER NOT NULL, name TEXT NOT NULL, artifact_location TEXT NOT NULL,
  creation_timestamp INTEGER NOT NULL, last_updated_timestamp INTEGER NOT NULL, status TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active', model_type TEXT, source_run_id TEXT, status_message TEXT
);
CREATE TABLE IF NOT EXISTS logged_model_params (model_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_id, key));
CREATE TABLE IF NOT EXISTS logged_model_tags (model_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_id, key));
`;

export const DEFAULT_EXPERIMENT_ID = "0";
export const DEFAULT_EXPERIMENT_NAME = "Default";
/** Artifacts are served by this process (MLflow's --serve-artifacts), so locations use the proxy scheme. */
export const ARTIFACT_SCHEME = "mlflow-artifacts:";

export function openStore(dataDir: string): Db {
  ensurePrivateDir(dataDir);
  const db = new Database(privateFile(path.join(dataDir, "registry.sqlite")));
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = OFF");
  db.exec(SCHEMA);
  addRunScope(db);
  const has = db.prepare("SELECT 1 FROM experiments WHERE experiment_id = 0").get();
  if (!has) {
    const now = Date.now();
    db.prepare(
      "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, ?, ?, 'active', ?, ?)",
    ).run(DEFAULT_EXPERIMENT_NAME, `${ARTIFACT_SCHEME}/${DEFAULT_EXPERIMENT_ID}`, now, now);
  }
  return db;
}

/**
 * latest_metrics carries a copy of its run's search scope and tie-break (experiment, stage, start_time), kept by
 * triggers, so a search ordered by a metric pages on one index without joining every skipped row to its run.
 * Older stores gain the columns here and are filled once.
 */
const RUN_SCOPE = `
CREATE TRIGGER IF NOT EXISTS latest_metrics_scope AFTER INSERT ON latest_metrics BEGIN
  UPDATE latest_metrics SET (experiment_id, lifecycle_stage, start_time) =
    (SELECT experiment_id, lifecycle_stage, start_time FROM runs WHERE run_uuid = NEW.run_uuid)
  WHERE run_uuid = NEW.run_uuid AND key = NEW.key;
END;
CREATE TRIGGER IF NOT EXISTS runs_scope AFTER UPDATE OF experiment_id, lifecycle_stage, start_time ON runs BEGIN
  UPDATE latest_metrics SET experiment_id = NEW.experiment_id, lifecycle_stage = NEW.lifecycle_stage, start_time = NEW.start_time
  WHERE run_uuid = NEW.run_uuid;
END;
-- MLflow's metric order within a scope: value, then start_time DESC, run_uuid ASC; one index per value direction
-- (SQLite reads an index forwards or backwards only).
CREATE INDEX IF NOT EXISTS latest_metrics_scope_desc ON latest_metrics (experiment_id, lifecycle_stage, key, is_nan, value, start_time, run_uuid DESC);
CREATE INDEX IF NOT EXISTS latest_metrics_scope_asc ON latest_metrics (experiment_id, lifecycle_stage, key, is_nan, value, start_time DESC, run_uuid);
`;

function addRunScope(db: Db): void {
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('latest_metrics')").all().map((c) => c.name);
  if (!columns.includes("experiment_id")) {
    db.transaction(() => {
      db.exec(`ALTER TABLE latest_metrics ADD COLUMN experiment_id INTEGER;
        ALTER TABLE latest_metrics ADD COLUMN lifecycle_stage TEXT;
        ALTER TABLE latest_metrics ADD COLUMN start_time INTEGER;
        UPDATE latest_metrics SET (experiment_id, lifecycle_stage, start_time) =
          (SELECT experiment_id, lifecycle_stage, start_time FROM runs WHERE runs.run_uuid = latest_metrics.run_uuid);`);
    })();
  }
  db.exec(RUN_SCOPE);
}

/** Typed column readers: rows come back as unknown from SQLite. */
export const col = {
  str(row: Row, key: string): string {
    const v = row[key];
    return v === null || v === undefined ? "" : String(v);
  },
  optStr(row: Row, key: string): string | undefined {
    const v = row[key];
    return v === null || v === undefined ? undefined : String(v);
  },
  num(row: Row, key: string): number {
    const v = row[key];
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number(v ?? 0);
  },
  optNum(row: Row, key: string): number | undefined {
    const v = row[key];
    if (v === null || v === undefined) return undefined;
    return typeof v === "number" ? v : Number(v);
  },
};

// Prepared statements are reused per connection: preparing is the dominant cost of small queries. Search SQL is
// generated per filter shape, so the cache keeps the most recently used ones only (memory stays flat).
const MAX_STATEMENTS = 256;
const statements = new WeakMap<Db, Map<string, Database.Statement<unknown[], Row>>>();
function stmt(db: Db, sql: string): Database.Statement<unknown[], Row> {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let st = cache.get(sql);
  if (st) {
    cache.delete(sql);
  } else {
    st = db.prepare<unknown[], Row>(sql);
    if (cache.size >= MAX_STATEMENTS) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
  }
  cache.set(sql, st);
  return st;
}

export function all(db: Db, sql: string, ...args: unknown[]): Row[] {
  return stmt(db, sql).all(...args);
}

export function one(db: Db, sql: string, ...args: unknown[]): Row | undefined {
  return stmt(db, sql).get(...args);
}

export function run(db: Db, sql: string, ...args: unknown[]): Database.RunResult {
  return stmt(db, sql).run(...args);
}

/** `run_uuid IN (...)` with the ids as one JSON list argument: one statement whatever the page size. */
export const RUN_IDS_IN = "run_uuid IN (SELECT value FROM json_each(?))";

/** key/value rows -> MLflow's [{key, value}] list. */
export function kv(rows: Row[]): { key: string; value: string }[] {
  return rows.map((r) => ({ key: col.str(r, "key"), value: col.str(r, "value") }));
}
