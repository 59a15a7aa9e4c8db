// Run data: log-metric, log-parameter (params immutable), log-batch with MLflow's limits, metric history, log-model, inputs/outputs.
import type { Hono } from "hono";
import type { Handle } from "./app.ts";
import { invalid, notFound } from "./errors.ts";
import { LIMITS, validateBatch, validateKey } from "./limits.ts";
import { maxResults } from "./paging.ts";
import { Msg, isObject, toNumber, type JsonObject } from "./request.ts";
import { activeRun, metricValue } from "./runs.ts";
import { all, col, one, run, type Db } from "./store.ts";

interface MetricIn {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  modelId?: string | undefined;
  datasetName?: string | undefined;
  datasetDigest?: string | undefined;
}

function metricFrom(m: Msg, prefix = ""): MetricIn {
  const key = m.str("key");
  if (!key) throw invalid(`Missing value for required parameter '${prefix}key'.`);
  validateKey("Metric", key);
  if (!m.has("value")) throw invalid(`Missing value for required parameter '${prefix}value'.`);
  const timestamp = m.int("timestamp");
  if (timestamp === undefined) throw invalid(`Missing value for required parameter '${prefix}timestamp'.`);
  const value = toNumber(m.raw.value, `${prefix}value`);
  return {
    key,
    // MLflow's SQL store keeps +-Infinity as the largest finite doubles, and answers them that way.
    value: value === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : value === Number.NEGATIVE_INFINITY ? -Number.MAX_VALUE : value,
    timestamp,
    step: m.int("step") ?? 0,
    modelId: m.str("model_id"),
    datasetName: m.str("dataset_name"),
    datasetDigest: m.str("dataset_digest"),
  };
}

function insertMetric(db: Db, runId: string, mt: MetricIn): void {
  const isNan = Number.isNaN(mt.value) ? 1 : 0;
  const value = isNan ? 0 : mt.value;
  run(db, "INSERT OR IGNORE INTO metrics (run_uuid, key, value, is_nan, timestamp, step, model_id, dataset_name, dataset_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    runId, mt.key, value, isNan, mt.timestamp, mt.step, mt.modelId ?? null, mt.datasetName ?? null, mt.datasetDigest ?? null);
  // The latest value is the one with the greatest (step, timestamp, value), as in MLflow's SQL store.
  const cur = one(db, "SELECT * FROM latest_metrics WHERE run_uuid = ? AND key = ?", runId, mt.key);
  const newer = !cur ||
    mt.step > col.num(cur, "step") ||
    (mt.step === col.num(cur, "step") && (mt.timestamp > col.num(cur, "timestamp") ||
      (mt.timestamp === col.num(cur, "timestamp") && value > col.num(cur, "value"))));
  if (newer) run(db, "INSERT OR REPLACE INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) VALUES (?, ?, ?, ?, ?, ?)", runId, mt.key, value, isNan, mt.timestamp, mt.step);
}

function insertParam(db: Db, runId: string, key: string, given: string): void {
  validateKey("Param", key);
  // MLflow 2.17 accepts an over-long value and stores its first 6000 characters.
  const value = given.slice(0, LIMITS.maxParamValueLength);
  const cur = one(db, "SELECT value FROM params WHERE run_uuid = ? AND key = ?", runId, key);
  if (cur) {
    if (col.str(cur, "value") !== value) {
      throw invalid(`Changing param values is not allowed. Param with key='${key}' was already logged with value='${col.str(cur, "value")}' for run ID='${runId}'. Attempted logging new value '${value}'.`);
    }
    return;
  }
  run(db, "INSERT INTO params VALUES (?, ?, ?)", runId, key, value);
}

export function registerMetrics(app: Hono, handle: Handle, db: Db): void {
  handle(app, "POST", "/mlflow/runs/log-metric", (m) => {
    const id = m.reqOneOf("run_id", "run_uuid");
    const mt = metricFrom(m);
    activeRun(db, id);
    db.transaction(() => insertMetric(db, id, mt))();
    return {};
  });

  handle(app, "POST", "/mlflow/runs/log-parameter", (m) => {
    const id = m.reqOneOf("run_id", "run_uuid");
    const key = m.reqStr("key");
    activeRun(db, id);
    db.transaction(() => insertParam(db, id, key, m.str("value") ?? ""))();
    return {};
  });

  handle(app, "POST", "/mlflow/runs/log-batch", (m) => {
    const id = m.reqStr("run_id");
    const metrics = m.objList("metrics");
    const params = m.keyValues("params");
    const tags = m.keyValues("tags");
    validateBatch(metrics.length, params.length, tags.length);
    const parsed = metrics.map((o, i) => metricFrom(new Msg(o), `metrics[${i}].`));
    tags.forEach((t) => validateKey("Tag", t.key));
    activeRun(db, id);
    // A param logged twice in one batch with different values is rejected like a second call.
    const seen = new Map<string, string>();
    for (const p of params) {
      const prior = seen.get(p.key);
      if (prior !== undefined && prior !== p.value) {
        throw invalid(`Duplicate parameter keys have been submitted: ['${p.key}']. Please ensure the request contains only one param value per param key.`);
      }
      seen.set(p.key, p.value);
    }
    db.transaction(() => {
      for (const p of params) insertParam(db, id, p.key, p.value);
      for (const mt of parsed) insertMetric(db, id, mt);
      for (const t of tags) {
        // Like params, an over-long tag value is truncated in a batch rather than refused.
        run(db, "INSERT OR REPLACE INTO tags VALUES (?, ?, ?)", id, t.key, t.value.slice(0, LIMITS.maxTagValueLength));
        if (t.key === "mlflow.runName") run(db, "UPDATE runs SET name = ? WHERE run_uuid = ?", t.value, id);
      }
    })();
    return {};
  });

  handle(app, "GET", "/mlflow/metrics/get-history", (m) => {
    const id = m.reqOneOf("run_id", "run_uuid");
    const key = m.reqStr("metric_key");
    // MLflow 2.17 answers every point of the history (max_results and page_token are ignored), and {} for an unknown run.
    const rows = all(db, "SELECT * FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY timestamp, step, seq", id, key);
    const items = rows.map((r) => ({ key, value: metricValue(r), timestamp: col.num(r, "timestamp"), step: col.num(r, "step") }));
    return items.length ? { metrics: items } : {};
  });

  handle(app, "GET", "/mlflow/metrics/get-history-bulk-interval", (m) => {
    const ids = m.strList("run_ids");
    if (ids.length === 0) throw invalid("Missing value for required parameter 'run_ids'. See the API docs for more information about request parameters.");
    if (ids.length > 100) throw invalid(`GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received ${ids.length} run_ids.`);
    const key = m.reqStr("metric_key");
    const start = m.int("start_step");
    const end = m.int("end_step");
    if ((start === undefined) !== (end === undefined)) throw invalid("If either start step or end step are specified, both must be specified.");
    if (start !== undefined && end !== undefined && start > end) {
      throw invalid(`end_step must be greater than start_step. Found start_step=${start} and end_step=${end}.`);
    }
    const max = maxResults(m.int("max_results"), 320, 1000);
    const metrics = ids.flatMap((id) => {
      const rows = all(db, "SELECT * FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp, seq", id, key)
        .filter((r) => start === undefined || end === undefined || (col.num(r, "step") >= start && col.num(r, "step") <= end));
      const steps = sampledSteps([...new Set(rows.map((r) => col.num(r, "step")))], max);
      return rows
        .filter((r) => steps.has(col.num(r, "step")))
        .map((r) => ({ key, value: metricValue(r), timestamp: col.num(r, "timestamp"), step: col.num(r, "step"), run_id: id }));
    });
    return metrics.length ? { metrics } : {};
  });

  // MLflow 2.x: log_model posts the MLmodel as JSON; the server appends it to the mlflow.log-model.history tag.
  handle(app, "POST", "/mlflow/runs/log-model", (m) => {
    const id = m.reqStr("run_id");
    const modelJson = m.reqStr("model_json");
    let model: unknown;
    try {
      model = JSON.parse(modelJson);
    } catch {
      throw invalid(`Malformed model info. \n ${modelJson.slice(0, 200)} \n is not a valid JSON.`);
    }
    if (!isObject(model) || !model.artifact_path || !model.flavors) {
      throw invalid(`Model json is missing mandatory fields: ${["artifact_path", "flavors"].filter((f) => !isObject(model) || !(f in model)).join(", ")}`);
    }
    activeRun(db, id);
    db.transaction(() => {
      const cur = one(db, "SELECT value FROM tags WHERE run_uuid = ? AND key = 'mlflow.log-model.history'", id);
      const history: unknown[] = cur ? safeArray(col.str(cur, "value")) : [];
      history.push(model);
      run(db, "INSERT OR REPLACE INTO tags VALUES (?, 'mlflow.log-model.history', ?)", id, JSON.stringify(history));
    })();
    return {};
  });

  handle(app, "POST", "/mlflow/runs/log-inputs", (m) => {
    const id = m.reqStr("run_id");
    const datasets = m.objList("datasets");
    const models = m.objList("models");
    // 'datasets' is required by 2.x; a 3.x client may log model inputs alone.
    if (!m.has("datasets") && models.length === 0) {
      throw invalid("Missing value for required parameter 'datasets'. See the API docs for more information about request parameters.");
    }
    activeRun(db, id);
    db.transaction(() => {
      for (const d of datasets) run(db, "INSERT INTO run_inputs (run_uuid, kind, payload) VALUES (?, 'dataset', ?)", id, JSON.stringify(d));
      for (const mi of models) {
        const modelId = new Msg(mi).reqStr("model_id");
        run(db, "INSERT INTO run_inputs (run_uuid, kind, payload) VALUES (?, 'model', ?)", id, JSON.stringify({ model_id: modelId }));
      }
    })();
    return {};
  });

  // MLflow 3.x: records which logged models a run produced.
  handle(app, "POST", "/mlflow/runs/outputs", (m) => {
    const id = m.reqStr("run_id");
    const models: JsonObject[] = m.objList("models");
    activeRun(db, id);
    const outs = models.map((o, i) => {
      const mm = new Msg(o);
      const modelId = mm.str("model_id");
      if (!modelId) throw invalid(`Missing value for required parameter 'models[${i}].model_id'.`);
      const step = mm.int("step");
      if (step === undefined) throw invalid(`Missing value for required parameter 'models[${i}].step'.`);
      if (!one(db, "SELECT 1 FROM logged_models WHERE model_id = ?", modelId)) throw notFound(`Logged model with ID '${modelId}' not found.`);
      return { modelId, step };
    });
    db.transaction(() => {
      for (const o of outs) run(db, "INSERT OR REPLACE INTO run_outputs VALUES (?, ?, ?)", id, o.modelId, o.step);
    })();
    return {};
  });
}

/** At most `max` steps, evenly spread and always keeping the first and last (as MLflow samples a long history). */
function sampledSteps(steps: number[], max: number): Set<number> {
  if (steps.length <= max) return new Set(steps);
  const out = new Set<number>();
  for (let i = 0; i < max; i++) {
    const s = steps[Math.round((i * (steps.length - 1)) / Math.max(1, max - 1))];
    if (s !== undefined) out.add(s);
  }
  return out;
}

function safeArray(text: string): unknown[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
