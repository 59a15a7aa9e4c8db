// Runs: create, update, get (run_id or run_uuid), delete/restore, tags, search with filter/order_by/paging.
import { randomUUID } from "node:crypto";
import type { Hono } from "hono";
import type { Handle } from "./app.ts";
import { invalid, MlflowApiError, notFound } from "./errors.ts";
import { activeExperiment, experimentRow, viewType, type ViewType } from "./experiments.ts";
import { parseFilter, parseOrderBy, type FilterSpec } from "./filter.ts";
import { decodeToken, maxResults } from "./paging.ts";
import { searchRunRows } from "./run-search.ts";
import { compact, type Msg } from "./request.ts";
import { RUN_IDS_IN, all, col, kv, one, run, type Db, type Row } from "./store.ts";
import { validateTag } from "./limits.ts";
import { trimTrailingSlashes } from "../slashes.ts";

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
const RUN_NAME_TAG = "mlflow.runName";

/** MLflow 2.17 silently ignores an unknown status enum (the run keeps its status). */
function status(m: Msg, field: string): RunStatus | undefined {
  const v = m.str(field);
  if (v === undefined) return undefined;
  return RUN_STATUSES.find((x) => x === v) ?? RUN_STATUSES[Number(v) - 1];
}

const ADJ = ["amazing", "bold", "calm", "clever", "gentle", "nimble", "quiet", "rare", "sunny", "wise"];
const NOUN = ["ant", "bee", "crab", "dove", "fox", "hare", "lynx", "owl", "seal", "wolf"];
function randomName(): string {
  const pick = (xs: string[]): string => xs[Math.floor(Math.random() * xs.length)] ?? "run";
  return `${pick(ADJ)}-${pick(NOUN)}-${Math.floor(Math.random() * 1000)}`;
}

export function runRow(db: Db, id: string): Row {
  const row = one(db, "SELECT * FROM runs WHERE run_uuid = ?", id);
  if (!row) throw notFound(`Run with id=${id} not found`);
  return row;
}

export function activeRun(db: Db, id: string): Row {
  const row = runRow(db, id);
  const stage = col.str(row, "lifecycle_stage");
  if (stage !== "active") throw invalid(`The run ${id} must be in the 'active' state. Current state is ${stage}.`);
  return row;
}

export function runInfoJson(row: Row): Record<string, unknown> {
  const id = col.str(row, "run_uuid");
  return compact({
    run_id: id,
    run_uuid: id,
    run_name: col.str(row, "name"),
    experiment_id: String(col.num(row, "experiment_id")),
    user_id: col.str(row, "user_id"),
    status: col.str(row, "status"),
    start_time: col.optNum(row, "start_time"),
    end_time: col.optNum(row, "end_time"),
    artifact_uri: col.str(row, "artifact_uri"),
    lifecycle_stage: col.str(row, "lifecycle_stage"),
  });
}

export function metricValue(r: Row): number | string {
  return col.num(r, "is_nan") ? "NaN" : col.num(r, "value");
}

/** A run as runs/get and runs/search answer it; runs/create leaves out the (then empty) inputs. */
export function runJson(db: Db, row: Row, withInputs = true): Record<string, unknown> {
  return runsJson(db, [row], withInputs)[0] ?? {};
}

/** Rows of `sql` (one `?` taking a JSON list of run ids) grouped by run_uuid, in the statement's order. */
function byRun(db: Db, sql: string, ids: string): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of all(db, sql, ids)) {
    const id = col.str(r, "run_uuid");
    const list = out.get(id);
    if (list) list.push(r);
    else out.set(id, [r]);
  }
  return out;
}

/** Runs as MLflow's Run messages; one query per table for the whole page, not per run. */
export function runsJson(db: Db, rows: readonly Row[], withInputs = true): Record<string, unknown>[] {
  if (!rows.length) return [];
  const ids = JSON.stringify(rows.map((r) => col.str(r, "run_uuid")));
  const metrics = byRun(db, `SELECT * FROM latest_metrics WHERE ${RUN_IDS_IN} ORDER BY key`, ids);
  const params = byRun(db, `SELECT run_uuid, key, value FROM params WHERE ${RUN_IDS_IN} ORDER BY key`, ids);
  const tags = byRun(db, `SELECT run_uuid, key, value FROM tags WHERE ${RUN_IDS_IN} ORDER BY key`, ids);
  const inputs = byRun(db, `SELECT run_uuid, kind, payload FROM run_inputs WHERE ${RUN_IDS_IN} ORDER BY seq`, ids);
  const outputs = byRun(db, `SELECT run_uuid, model_id, step FROM run_outputs WHERE ${RUN_IDS_IN} ORDER BY model_id`, ids);
  return rows.map((row) => {
    const id = col.str(row, "run_uuid");
    const payloads = (kind: string): unknown[] =>
      (inputs.get(id) ?? []).filter((r) => col.str(r, "kind") === kind).map((r) => JSON.parse(col.str(r, "payload")) as unknown);
    const datasets = payloads("dataset");
    const modelInputs = payloads("model");
    const outs = (outputs.get(id) ?? []).map((r) => ({ model_id: col.str(r, "model_id"), step: col.num(r, "step") }));
    return compact({
      info: runInfoJson(row),
      data: compact({
        metrics: (metrics.get(id) ?? []).map((r) => ({
          key: col.str(r, "key"), value: metricValue(r), timestamp: col.num(r, "timestamp"), step: col.num(r, "step"),
        })),
        params: kv(params.get(id) ?? []),
        tags: kv(tags.get(id) ?? []),
      }),
      inputs: withInputs || datasets.length || modelInputs.length ? compact({ dataset_inputs: datasets, model_inputs: modelInputs }) : undefined,
      outputs: outs.length ? { model_outputs: outs } : undefined,
    });
  });
}

export const RUN_ATTRIBUTES = ["run_id", "run_name", "status", "start_time", "end_time", "user_id", "artifact_uri", "lifecycle_stage", "created", "Created"];
const SEARCH: FilterSpec = {
  attributes: RUN_ATTRIBUTES,
  numericAttributes: ["start_time", "end_time", "created", "Created"],
  types: ["metric", "param", "tag", "dataset"],
  inAttributes: ["run_id"],
};

/** runs/search ignores an unknown run_view_type (MLflow reads it as ACTIVE_ONLY), unlike experiments/search. */
function runViewType(m: Msg): ViewType {
  try {
    return viewType(m, "run_view_type");
  } catch {
    return "ACTIVE_ONLY";
  }
}

export function registerRuns(app: Hono, handle: Handle, db: Db, now: () => number): void {
  handle(app, "POST", "/mlflow/runs/create", (m) => {
    const experimentId = m.str("experiment_id");
    // MLflow 2.17 does not default to experiment 0 here: its insert fails (400 BAD_REQUEST with raw SQL, cleaned here).
    if (!experimentId) throw new MlflowApiError("BAD_REQUEST", "Missing value for required parameter 'experiment_id'.");
    const exp = activeExperiment(db, experimentId);
    const tags = m.keyValues("tags");
    tags.forEach((t) => validateTag(t.key, t.value));
    const tagName = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
    const given = m.str("run_name");
    if (given && tagName && given !== tagName) {
      throw invalid(`Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${given}', mlflow.runName='${tagName}').`);
    }
    const name = given || tagName || randomName();
    const id = randomUUID().replace(/-/g, "");
    const artifactUri = `${trimTrailingSlashes(col.str(exp, "artifact_location"))}/${id}/artifacts`;
    const userId = m.str("user_id") ?? tags.find((t) => t.key === "mlflow.user")?.value ?? "";
    db.transaction(() => {
      run(db, "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, ?, 'active')",
        id, name, Number(experimentId), userId, m.int("start_time") ?? 0, artifactUri);
      for (const t of tags) run(db, "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", id, t.key, t.value);
      run(db, "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", id, RUN_NAME_TAG, name);
    })();
    return { run: runJson(db, runRow(db, id), false) };
  });

  handle(app, "POST", "/mlflow/runs/update", (m) => {
    const id = m.reqOneOf("run_id", "run_uuid");
    activeRun(db, id);
    const s = status(m, "status");
    const end = m.int("end_time");
    const name = m.str("run_name");
    db.transaction(() => {
      if (s) run(db, "UPDATE runs SET status = ? WHERE run_uuid = ?", s, id);
      if (end !== undefined) run(db, "UPDATE runs SET end_time = ? WHERE run_uuid = ?", end, id);
      if (name) {
        run(db, "UPDATE runs SET name = ? WHERE run_uuid = ?", name, id);
        run(db, "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", id, RUN_NAME_TAG, name);
      }
    })();
    return { run_info: runInfoJson(runRow(db, id)) };
  });

  handle(app, "GET", "/mlflow/runs/get", (m) => ({ run: runJson(db, runRow(db, m.reqOneOf("run_id", "run_uuid"))) }));

  const setStage = (stage: "active" | "deleted") => (m: Msg) => {
    const id = m.reqStr("run_id");
    runRow(db, id);
    run(db, "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?", stage, stage === "deleted" ? now() : null, id);
    return {};
  };
  handle(app, "POST", "/mlflow/runs/delete", setStage("deleted"));
  handle(app, "POST", "/mlflow/runs/restore", setStage("active"));

  handle(app, "POST", "/mlflow/runs/set-tag", (m) => {
    const id = m.reqOneOf("run_id", "run_uuid");
    const key = m.reqStr("key");
    const value = m.str("value") ?? "";
    validateTag(key, value);
    activeRun(db, id);
    db.transaction(() => {
      run(db, "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", id, key, value);
      if (key === RUN_NAME_TAG) run(db, "UPDATE runs SET name = ? WHERE run_uuid = ?", value, id);
    })();
    return {};
  });

  handle(app, "POST", "/mlflow/runs/delete-tag", (m) => {
    const id = m.reqStr("run_id");
    const key = m.reqStr("key");
    activeRun(db, id);
    const res = run(db, "DELETE FROM tags WHERE run_uuid = ? AND key = ?", id, key);
    if (res.changes === 0) throw notFound(`No tag with name: ${key} in run with id ${id}`);
    return {};
  });

  handle(app, "POST", "/mlflow/runs/search", (m) => {
    const ids = m.strList("experiment_ids");
    ids.forEach((id) => experimentRow(db, id));
    const limit = maxResults(m.int("max_results"), 1000, 50000);
    const offset = decodeToken(m.str("page_token"));
    const view = runViewType(m);
    const clauses = parseFilter(m.str("filter"), SEARCH);
    const order = parseOrderBy(m.strList("order_by"), SEARCH);
    const p = searchRunRows(db, { experimentIds: ids, view, clauses, order, limit, offset });
    return compact({ runs: runsJson(db, p.items), next_page_token: p.next });
  });
}
