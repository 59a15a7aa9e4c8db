// Run, metric, param, tag and input endpoints of the fake MLflow, from the recorded steps 70-148 and 179-189.
import { activeExperiment } from "./experiments.ts";
import { badRequest, badType, hexId, invalid, keyValues, missing, notFound, shown, sqlError, type Params } from "./params.ts";
import { metricJson, runInfoJson, runJson, type MetricPoint, type Run, type State } from "./state.ts";

const LIMITS = { metrics: 1000, params: 100, tags: 100, key: 250, param: 6000, tag: 8000 } as const;

export function run(s: State, id: string): Run {
  const r = s.runs.get(id);
  if (!r) throw notFound(`Run with id=${id} not found`);
  return r;
}

/** A run that accepts writes: a deleted one is refused (steps 181, 182). */
function activeRun(s: State, id: string): Run {
  const r = run(s, id);
  if (r.stage !== "active") throw invalid(`The run ${id} must be in the 'active' state. Current state is deleted.`);
  return r;
}

const runId = (p: Params): string => p.req("run_id", "run_uuid");

/** Names may hold alphanumerics, `_ - . space /`, and must not escape as a path (steps 104, 105). */
function checkName(what: string, key: string): void {
  if (!/^[\w\-. /:]+$/.test(key)) throw invalid(`Invalid value "${key}" for parameter '${what}' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).`);
  if (key.split("/").some((seg) => seg === "..") || key.startsWith("/")) {
    throw invalid(`Invalid value "${key}" for parameter '${what}' supplied: Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${normpath(key)}'`);
  }
}

function checkKeyLength(kind: string, key: string): void {
  if (key.length > LIMITS.key) throw invalid(`${kind} '${shown(key)}' had length ${key.length}, which exceeded length limit of ${LIMITS.key}`);
}

/** Metric values: numbers, or "NaN"/"Infinity"/"-Infinity" (steps 92-94); ±Infinity stored as ±Float.MAX (step 135). */
function metricValue(name: string, v: unknown): number {
  const n = typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : undefined;
  if (n === undefined) throw badType(name, v);
  return n === Infinity ? Number.MAX_VALUE : n === -Infinity ? -Number.MAX_VALUE : n;
}

function metricPoint(m: Record<string, unknown>, prefix: string): MetricPoint {
  const key = typeof m.key === "string" ? m.key : "";
  if (!key) throw missing(`${prefix}key`);
  if (m.value === undefined) throw missing(`${prefix}value`);
  if (m.timestamp === undefined) throw missing(`${prefix}timestamp`);
  checkName(`${prefix}key`, key);
  checkKeyLength("Metric name", key);
  return { key, value: metricValue(`${prefix}value`, m.value), timestamp: Number(m.timestamp), step: Number(m.step ?? 0) };
}

function setTag(r: Run, key: string, value: string): void {
  checkName("key", key);
  checkKeyLength("Tag key", key);
  const v = value.slice(0, LIMITS.tag);
  r.tags.set(key, v);
  // The mlflow.runName tag renames the run (step 108).
  if (key === "mlflow.runName") r.name = v;
}

/** POSIX normpath, for the message of step 105. */
function normpath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === ".." && out.length && out.at(-1) !== "..") out.pop();
    else if (seg !== ".." || !p.startsWith("/")) out.push(seg);
  }
  return (p.startsWith("/") ? "/" : "") + out.join("/") || ".";
}

/** log-parameter names the one param (step 101); log-batch lists them (step 124). */
function logParams(r: Run, params: [string, string][], batch: boolean): void {
  const changed = params.filter(([k, v]) => r.params.has(k) && r.params.get(k) !== v.slice(0, LIMITS.param));
  if (changed.length && !batch) {
    const [k, v] = changed[0] ?? ["", ""];
    throw invalid(`Changing param values is not allowed. Param with key='${k}' was already logged with value='${r.params.get(k) ?? ""}' for run ID='${r.id}'. Attempted logging new value '${v}'.`);
  }
  if (changed.length) {
    const list = changed.map(([k, v]) => `{'key': '${k}', 'old_value': '${r.params.get(k) ?? ""}', 'new_value': '${v}'}`).join(", ");
    throw invalid(`Changing param values is not allowed. Params were already logged='[${list}]' for run ID='${r.id}'.`);
  }
  for (const [k] of params) {
    checkName("key", k);
    checkKeyLength("Param key", k);
  }
  for (const [k, v] of params) r.params.set(k, v.slice(0, LIMITS.param));
}

function create(p: Params, s: State): unknown {
  const expId = p.str("experiment_id");
  // No experiment_id reaches MLflow's database as '' and fails its foreign key: 400 BAD_REQUEST (step 75).
  if (!expId) {
    const sql = "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, deleted_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    const id = hexId();
    const values = [id, p.str("run_name") ?? "", "UNKNOWN", "", "", p.str("user_id") ?? "", "RUNNING", p.int("start_time") ?? 0, null, null, "", "active", `mlflow-artifacts:/0/${id}/artifacts`, ""];
    throw badRequest(sqlError("FOREIGN KEY constraint failed", sql, values));
  }
  const exp = activeExperiment(s, expId);
  const tags = keyValues(p.objects("tags"));
  const name = p.str("run_name");
  const tagName = tags.find(([k]) => k === "mlflow.runName")?.[1];
  if (name && tagName !== undefined && tagName !== name) {
    throw invalid(`Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${name}', mlflow.runName='${tagName}').`);
  }
  const r = s.addRun(exp, name || tagName, p.str("user_id") ?? "", p.int("start_time") ?? 0, tags.filter(([k]) => k !== "mlflow.runName"));
  return { run: runJson(r, false) };
}

function update(p: Params, s: State): unknown {
  const r = run(s, runId(p));
  const status = p.str("status");
  // An unknown status is ignored (step 314).
  if (status && ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"].includes(status)) r.status = status;
  const end = p.int("end_time");
  if (end !== undefined) r.endTime = end;
  const name = p.str("run_name");
  if (name) setTag(r, "mlflow.runName", name);
  return { run_info: runInfoJson(r) };
}

function stage(to: Run["stage"]) {
  return (p: Params, s: State): unknown => {
    run(s, runId(p)).stage = to;
    return {};
  };
}

function logBatch(p: Params, s: State): unknown {
  const metrics = p.objects("metrics");
  const params = keyValues(p.objects("params"));
  const tags = keyValues(p.objects("tags"));
  const limit = (kind: string, n: number, max: number): void => {
    if (n > max) throw invalid(`A batch logging request can contain at most ${max} ${kind}. Got ${n} ${kind}. Please split up ${kind} across multiple requests and try again.`);
  };
  limit("metrics", metrics.length, LIMITS.metrics);
  limit("params", params.length, LIMITS.params);
  limit("tags", tags.length, LIMITS.tags);
  const points = metrics.map((m, i) => metricPoint(m, `metrics[${i}].`));
  const id = runId(p);
  const dups = [...new Set(params.map(([k]) => k).filter((k, i, all) => all.indexOf(k) !== i))];
  if (dups.length) throw invalid(`Duplicate parameter keys have been submitted: [${dups.map((d) => `'${d}'`).join(", ")}]. Please ensure the request contains only one param value per param key.`);
  const r = activeRun(s, id);
  for (const [k] of tags) checkKeyLength("Tag key", k);
  logParams(r, params, true);
  r.metrics.push(...points);
  for (const [k, v] of tags) setTag(r, k, v);
  return {};
}

function logInputs(p: Params, s: State): unknown {
  const r = activeRun(s, runId(p));
  if (p.raw("datasets") === undefined) throw missing("datasets");
  for (const d of p.objects("datasets")) {
    const ds: Record<string, string> = d.dataset && typeof d.dataset === "object" ? Object.fromEntries(Object.entries(d.dataset).map(([k, v]) => [k, String(v)])) : {};
    const dataset: Record<string, string> = { ...ds, digest: ds.digest ?? "" };
    // A dataset (name, digest) is an input of a run once, however often it is logged (MLflow's inputs table is unique).
    if (r.inputs.some((i) => i.dataset.name === dataset.name && i.dataset.digest === dataset.digest)) continue;
    r.inputs.push({ tags: keyValues(Array.isArray(d.tags) ? d.tags.filter((t): t is Record<string, unknown> => !!t && typeof t === "object") : []), dataset });
  }
  return {};
}

function history(p: Params, s: State): unknown {
  const key = p.req("metric_key");
  // A missing run or metric is an empty answer, not an error (steps 137, 138).
  const r = s.runs.get(runId(p));
  const points = r ? r.metrics.filter((m) => m.key === key) : [];
  return points.length ? { metrics: points.map(metricJson) } : {};
}

function bulkInterval(p: Params, s: State): unknown {
  const ids = p.list("run_ids");
  if (!ids.length) throw missing("run_ids");
  const key = p.req("metric_key");
  const start = p.int("start_step");
  const end = p.int("end_step");
  if ((start === undefined) !== (end === undefined)) throw invalid("If either start step or end step are specified, both must be specified.");
  if (start !== undefined && end !== undefined && end < start) throw invalid(`end_step must be greater than start_step. Found start_step=${start} and end_step=${end}.`);
  const max = p.int("max_results") ?? 100;
  const out = ids.flatMap((id) => {
    const pts = (s.runs.get(id)?.metrics ?? []).filter((m) => m.key === key && (start === undefined || (m.step >= start && m.step <= (end ?? m.step))));
    return pts.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp).slice(0, max).map((m) => ({ ...metricJson(m), run_id: id }));
  });
  return out.length ? { metrics: out } : {};
}

/** The UI's ajax-only bulk history (step 147): every point of each run, keys in alphabetical order. */
function bulk(p: Params, s: State): unknown {
  const key = p.req("metric_key");
  const out = p.list("run_id").flatMap((id) => (s.runs.get(id)?.metrics ?? []).filter((m) => m.key === key).map((m) => ({ key: m.key, run_id: id, step: m.step, timestamp: m.timestamp, value: metricJson(m).value })));
  return { metrics: out };
}

export const runRoutes = {
  "runs/create": { methods: ["POST"], handle: create },
  "runs/get": { methods: ["GET"], handle: (p: Params, s: State) => ({ run: runJson(run(s, runId(p))) }) },
  "runs/update": { methods: ["POST"], handle: update },
  "runs/delete": { methods: ["POST"], handle: stage("deleted") },
  "runs/restore": { methods: ["POST"], handle: stage("active") },
  "runs/log-metric": {
    methods: ["POST"],
    handle: (p: Params, s: State) => {
      const id = runId(p);
      const point = metricPoint({ key: p.raw("key"), value: p.raw("value"), timestamp: p.raw("timestamp"), step: p.raw("step") }, "");
      activeRun(s, id).metrics.push(point);
      return {};
    },
  },
  "runs/log-parameter": {
    methods: ["POST"],
    handle: (p: Params, s: State) => {
      const id = runId(p);
      const key = p.req("key");
      logParams(activeRun(s, id), [[key, p.str("value") ?? ""]], false);
      return {};
    },
  },
  "runs/set-tag": {
    methods: ["POST"],
    handle: (p: Params, s: State) => {
      const id = runId(p);
      const key = p.req("key");
      setTag(activeRun(s, id), key, p.str("value") ?? "");
      return {};
    },
  },
  "runs/delete-tag": {
    methods: ["POST"],
    handle: (p: Params, s: State) => {
      const id = runId(p);
      const key = p.req("key");
      const r = activeRun(s, id);
      if (!r.tags.delete(key)) throw notFound(`No tag with name: ${key} in run with id ${id}`);
      return {};
    },
  },
  "runs/log-batch": { methods: ["POST"], handle: logBatch },
  "runs/log-inputs": { methods: ["POST"], handle: logInputs },
  // 2.x accepts the model JSON and records nothing a later answer shows (step 189).
  "runs/log-model": { methods: ["POST"], handle: (p: Params, s: State) => (activeRun(s, runId(p)), {}) },
  "metrics/get-history": { methods: ["GET"], handle: history },
  "metrics/get-history-bulk-interval": { methods: ["GET"], handle: bulkInterval },
} as const;

export const ajaxOnlyRunRoutes = {
  "metrics/get-history-bulk": { methods: ["GET"], handle: bulk },
} as const;
