// Registered model, model version and alias endpoints of the fake MLflow, from the recorded steps 218-296 and 315-322.
import { badAttribute, cmp, compareNumber, compareString, parseFilter, parseOrderBy, STRING_OPS, type Clause } from "./filter.ts";
import { badType, exists, invalid, keyValues, notFound, page, shown, sqlError, type Params } from "./params.ts";
import { latestVersions, modelJson, STAGES, versionJson, type ModelVersion, type RegisteredModel, type State } from "./state.ts";

const TAG_VALUE_LIMIT = 5000;

function model(s: State, name: string): RegisteredModel {
  const m = s.models.get(name);
  if (!m) throw notFound(`Registered Model with name=${name} not found`);
  return m;
}

/** A version number: not an integer is 400 (step 253); a missing model or version is the same 404 (steps 252, 322). */
function versionOf(s: State, name: string, version: string): [RegisteredModel, ModelVersion] {
  if (!/^-?\d+$/.test(version)) throw invalid(`Model version must be an integer, got '${version}'`);
  const m = s.models.get(name);
  const v = m?.versions.get(Number(version));
  if (!m || !v) throw notFound(`Model Version (name=${name}, version=${version}) not found`);
  return [m, v];
}
const mv = (p: Params, s: State): [RegisteredModel, ModelVersion] => {
  const name = p.req("name");
  return versionOf(s, name, p.req("version"));
};

function createModel(p: Params, s: State): unknown {
  const name = p.req("name");
  const t = s.now();
  if (s.models.has(name)) {
    const sql = "INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)";
    throw exists(`Registered Model (name=${name}) already exists. Error: ${sqlError("UNIQUE constraint failed: registered_models.name", sql, [name, t, t, p.str("description") ?? ""])}`);
  }
  const m: RegisteredModel = { name, created: t, updated: t, description: p.str("description") ?? "", tags: new Map(keyValues(p.objects("tags"))), aliases: new Map(), lastVersion: 0, versions: new Map() };
  s.models.set(name, m);
  return { registered_model: modelJson(m, true) };
}

function rename(p: Params, s: State): unknown {
  const name = p.req("name");
  const m = model(s, name);
  const newName = p.req("new_name");
  if (s.models.has(newName)) {
    const sql = "UPDATE registered_models SET name=? WHERE registered_models.name = ?";
    throw exists(`Registered Model (name=${newName}) already exists. Error: ${sqlError("UNIQUE constraint failed: registered_models.name", sql, [newName, name], true)}`);
  }
  s.models.delete(name);
  m.name = newName;
  m.updated = s.now();
  s.models.set(newName, m);
  return { registered_model: modelJson(m, true) };
}

/** Registered-model tags: `!=` also matches a model without the tag, which the 3.x client's prompt filter needs. */
function modelMatches(m: RegisteredModel, c: Clause): boolean {
  if (c.entity === "tags" || c.entity === "tag") {
    const t = m.tags.get(c.key);
    return t === undefined ? c.op === "!=" : compareString(c.op, c.value, t);
  }
  return compareString(c.op, c.value, m.name);
}

function searchModels(p: Params, s: State): unknown {
  const max = p.int("max_results") ?? 100;
  // The >1000 error is phrased as a type error on the raw value (step 242).
  if (max > 1000 || max < 0) throw badType("max_results", p.raw("max_results"));
  const clauses = parseFilter(p.str("filter"));
  for (const c of clauses) {
    const isTag = c.entity === "tags" || c.entity === "tag";
    if (!isTag && c.key !== "name") throw badAttribute(c.key, ["name"]);
    if (!STRING_OPS.has(c.op)) throw invalid(`Invalid comparator for attribute: ${c.op}`);
  }
  const order = parseOrderBy(p.list("order_by"));
  const models = [...s.models.values()].filter((m) => clauses.every((c) => modelMatches(m, c)));
  const val = (m: RegisteredModel, key: string): string | number => (key === "name" ? m.name : key === "creation_timestamp" ? m.created : m.updated);
  models.sort((a, b) => order.reduce((r, o) => r || cmp(val(a, o.key), val(b, o.key), o.asc), 0) || cmp(a.name, b.name, true));
  const pg = page(models, max, p.str("page_token"));
  return { ...(pg.items.length ? { registered_models: pg.items.map((m) => modelJson(m, true)) } : {}), ...(pg.next ? { next_page_token: pg.next } : {}) };
}

/** A source must not hold `..`, and a local path needs the run it belongs to (steps 316, 317). */
function checkSource(source: string, runId: string | undefined): void {
  if (/(^|\/)\.\.(\/|$)/.test(source)) {
    throw invalid(`Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`);
  }
  if ((source.startsWith("/") || source.startsWith("file:")) && !runId) {
    throw invalid(`Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`);
  }
}

function createVersion(p: Params, s: State): unknown {
  const name = p.req("name");
  const source = p.req("source");
  const runId = p.str("run_id");
  checkSource(source, runId);
  const m = model(s, name);
  const t = s.now();
  // run_id is not checked against the runs (step 318).
  const v: ModelVersion = { version: ++m.lastVersion, created: t, updated: t, stage: "None", description: p.str("description") ?? "", source, runId: runId ?? "", tags: new Map(keyValues(p.objects("tags"))) };
  m.versions.set(v.version, v);
  m.updated = t;
  return { model_version: versionJson(m, v) };
}

function transition(p: Params, s: State): unknown {
  const [m, v] = mv(p, s);
  const asked = p.req("stage");
  const stage = STAGES.find((x) => x.toLowerCase() === asked.toLowerCase());
  if (!stage) throw invalid(`Invalid Model Version stage: ${asked}. Value must be one of None, Staging, Production, Archived.`);
  const t = s.now();
  if (p.bool("archive_existing_versions") && (stage === "Staging" || stage === "Production")) {
    for (const o of m.versions.values()) if (o !== v && o.stage === stage) Object.assign(o, { stage: "Archived", updated: t });
  }
  Object.assign(v, { stage, updated: t });
  return { model_version: versionJson(m, v) };
}

function searchVersions(p: Params, s: State): unknown {
  const KEYS = ["name", "run_id", "source_path", "version_number"];
  const clauses = parseFilter(p.str("filter"));
  for (const c of clauses) {
    const isTag = c.entity === "tags" || c.entity === "tag";
    if (!isTag && !KEYS.includes(c.key)) throw badAttribute(c.key, KEYS);
    const ops = c.key === "version_number" && !isTag ? new Set(["=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN"]) : new Set([...STRING_OPS, "IN", "NOT IN"]);
    if (!ops.has(c.op)) throw invalid(`Invalid comparator for attribute ${c.key}: ${c.op}`);
  }
  const all = [...s.models.values()].flatMap((m) => [...m.versions.values()].map((v) => ({ m, v })));
  const hits = all.filter(({ m, v }) => clauses.every((c) => {
    if (c.entity === "tags" || c.entity === "tag") {
      const t = v.tags.get(c.key);
      return t !== undefined && compareString(c.op, c.value, t);
    }
    if (c.key === "version_number") return c.value.kind === "list" ? compareString(c.op, c.value, String(v.version)) : c.value.kind === "number" && compareNumber(c.op, c.value.n, v.version);
    return compareString(c.op, c.value, c.key === "name" ? m.name : c.key === "run_id" ? v.runId : v.source);
  }));
  const order = parseOrderBy(p.list("order_by"));
  const val = (x: { m: RegisteredModel; v: ModelVersion }, key: string): string | number =>
    key === "name" ? x.m.name : key === "version_number" ? x.v.version : key === "creation_timestamp" ? x.v.created : x.v.updated;
  // Default: name ascending, newest version first (steps 273, 276, 293).
  const keys = order.length ? order : [{ key: "name", asc: true }, { key: "version_number", asc: false }];
  hits.sort((a, b) => keys.reduce((r, o) => r || cmp(val(a, o.key), val(b, o.key), o.asc), 0));
  const pg = page(hits, p.int("max_results") ?? 10000, p.str("page_token"));
  return { ...(pg.items.length ? { model_versions: pg.items.map(({ m, v }) => versionJson(m, v)) } : {}), ...(pg.next ? { next_page_token: pg.next } : {}) };
}

function setAlias(p: Params, s: State): unknown {
  const name = p.req("name");
  const alias = p.req("alias");
  const version = p.req("version");
  if (alias.toLowerCase() === "latest") throw invalid("'latest' alias name (case insensitive) is reserved.");
  if (/^v\d+$/i.test(alias)) throw invalid(`Version alias name '${alias}' is reserved.`);
  const [m, v] = versionOf(s, name, version);
  m.aliases.set(alias, v.version);
  m.updated = s.now();
  return {};
}

/** A missing alias, or a missing model, is 400 INVALID_PARAMETER_VALUE, not 404 (steps 285, 286, 289). */
function getAlias(p: Params, s: State): unknown {
  const name = p.req("name");
  const alias = p.req("alias");
  const m = s.models.get(name);
  const n = m?.aliases.get(alias);
  const v = n === undefined ? undefined : m?.versions.get(n);
  if (!m || !v) throw invalid(`Registered model alias ${alias} not found.`);
  return { model_version: versionJson(m, v) };
}

const tagTarget = (p: Params, s: State): Map<string, string> => (p.str("version") !== undefined ? mv(p, s)[1].tags : model(s, p.req("name")).tags);

export const modelRoutes = {
  "registered-models/create": { methods: ["POST"], handle: createModel },
  "registered-models/get": { methods: ["GET"], handle: (p: Params, s: State) => ({ registered_model: modelJson(model(s, p.req("name")), true) }) },
  "registered-models/update": {
    methods: ["PATCH"],
    handle: (p: Params, s: State) => {
      const m = model(s, p.req("name"));
      const d = p.str("description");
      if (d !== undefined) m.description = d;
      m.updated = s.now();
      return { registered_model: modelJson(m, true) };
    },
  },
  "registered-models/rename": { methods: ["POST"], handle: rename },
  "registered-models/delete": { methods: ["DELETE"], handle: (p: Params, s: State) => (s.models.delete(model(s, p.req("name")).name), {}) },
  "registered-models/set-tag": {
    methods: ["POST"],
    handle: (p: Params, s: State) => {
      const m = model(s, p.req("name"));
      const key = p.req("key");
      const value = p.str("value") ?? "";
      if (value.length > TAG_VALUE_LIMIT) throw invalid(`Registered model value '${shown(value)}' had length ${value.length}, which exceeded length limit of ${TAG_VALUE_LIMIT}`);
      m.tags.set(key, value);
      return {};
    },
  },
  "registered-models/delete-tag": { methods: ["DELETE"], handle: (p: Params, s: State) => (tagTarget(p, s).delete(p.req("key")), {}) },
  "registered-models/search": { methods: ["GET"], handle: searchModels },
  "registered-models/get-latest-versions": {
    methods: ["GET", "POST"],
    handle: (p: Params, s: State) => {
      const m = model(s, p.req("name"));
      const vs = latestVersions(m, p.list("stages"));
      return vs.length ? { model_versions: vs.map((v) => versionJson(m, v)) } : {};
    },
  },
  "registered-models/alias": { methods: ["POST", "GET", "DELETE"], handle: setAlias, get: getAlias, delete: (p: Params, s: State) => {
    const name = p.req("name");
    const alias = p.req("alias");
    // Deleting an alias that is not there succeeds (step 288).
    model(s, name).aliases.delete(alias);
    return {};
  } },
  "model-versions/create": { methods: ["POST"], handle: createVersion },
  "model-versions/get": { methods: ["GET"], handle: (p: Params, s: State) => ({ model_version: versionJson(...mv(p, s)) }) },
  "model-versions/update": {
    methods: ["PATCH"],
    handle: (p: Params, s: State) => {
      const [m, v] = mv(p, s);
      const d = p.str("description");
      if (d !== undefined) v.description = d;
      v.updated = s.now();
      return { model_version: versionJson(m, v) };
    },
  },
  "model-versions/delete": {
    methods: ["DELETE"],
    handle: (p: Params, s: State) => {
      const [m, v] = mv(p, s);
      m.versions.delete(v.version);
      for (const [a, n] of m.aliases) if (n === v.version) m.aliases.delete(a);
      return {};
    },
  },
  "model-versions/transition-stage": { methods: ["POST"], handle: transition },
  "model-versions/set-tag": {
    methods: ["POST"],
    handle: (p: Params, s: State) => {
      const [, v] = mv(p, s);
      v.tags.set(p.req("key"), p.str("value") ?? "");
      return {};
    },
  },
  "model-versions/delete-tag": { methods: ["DELETE"], handle: (p: Params, s: State) => (mv(p, s)[1].tags.delete(p.req("key")), {}) },
  // The version's source verbatim, `runs:/` included (step 266): what sends a 3.x client down its logged-model path.
  "model-versions/get-download-uri": { methods: ["GET"], handle: (p: Params, s: State) => ({ artifact_uri: mv(p, s)[1].source }) },
  "model-versions/search": { methods: ["GET"], handle: searchVersions },
} as const;
