// Contract suite: replays, over HTTP, the requests MLflow's Python client (2.x and 3.x) sends in an ordinary session, and
// checks each response against the proto messages and each error against MLflow's codes and HTTP statuses.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectMessage } from "./protos.ts";
import { startHttpRegistry, type HttpRegistry } from "./http-registry.ts";

let srv: HttpRegistry;
beforeAll(async () => (srv = await startHttpRegistry()));
afterAll(async () => srv.close());

type Json = Record<string, unknown>;
/** As the Python client does: GET with query params (lists as repeated keys), others with a JSON body. */
async function py(method: string, endpoint: string, params: Json = {}): Promise<{ status: number; body: Json }> {
  let url = `${srv.url}/api/2.0/${endpoint}`;
  const init: RequestInit = { method, headers: { "User-Agent": "mlflow-python-client/2.19.0" } };
  if (method === "GET") {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const item of Array.isArray(v) ? v : [v]) if (item !== undefined) qs.append(k, String(item));
    if (qs.size) url += `?${qs}`;
  } else {
    init.headers = { ...init.headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(params);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? Object(JSON.parse(text)) : {} };
}

const ok = (r: { status: number; body: Json }): Json => {
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
};
const err = (r: { status: number; body: Json }, status: number, code: string): void => {
  expect(r.status).toBe(status);
  expect(Object.keys(r.body).sort()).toEqual(["error_code", "message"]);
  expect(r.body.error_code).toBe(code);
  expect(typeof r.body.message).toBe("string");
};

const state = { exp: "", run: "", model: "contract-model", loggedModel: "" };

describe("tracking, as the Python client calls it", () => {
  it("POST experiments/create -> CreateExperiment.Response; duplicate -> 400 RESOURCE_ALREADY_EXISTS", async () => {
    const body = ok(await py("POST", "mlflow/experiments/create", { name: "contract", tags: [{ key: "mlflow.note.content", value: "hi" }] }));
    expect(Object.keys(body)).toEqual(["experiment_id"]);
    expect(typeof body.experiment_id).toBe("string");
    state.exp = String(body.experiment_id);
    err(await py("POST", "mlflow/experiments/create", { name: "contract" }), 400, "RESOURCE_ALREADY_EXISTS");
    err(await py("POST", "mlflow/experiments/create", {}), 400, "INVALID_PARAMETER_VALUE");
  });

  it("GET experiments/get-by-name and experiments/get -> Experiment; missing -> 404", async () => {
    expectMessage(ok(await py("GET", "mlflow/experiments/get-by-name", { experiment_name: "contract" })).experiment, "Experiment");
    expectMessage(ok(await py("GET", "mlflow/experiments/get", { experiment_id: state.exp })).experiment, "Experiment");
    err(await py("GET", "mlflow/experiments/get-by-name", { experiment_name: "missing" }), 404, "RESOURCE_DOES_NOT_EXIST");
    err(await py("GET", "mlflow/experiments/get", { experiment_id: "424242" }), 404, "RESOURCE_DOES_NOT_EXIST");
  });

  it("POST experiments/search (and GET) -> SearchExperiments.Response", async () => {
    const body = ok(await py("POST", "mlflow/experiments/search", { view_type: "ACTIVE_ONLY", max_results: 1000, order_by: [], filter: "name = 'contract'" }));
    expect(Object.keys(body)).toEqual(["experiments"]);
    expect(Array.isArray(body.experiments) && body.experiments.length).toBe(1);
    if (Array.isArray(body.experiments)) body.experiments.forEach((e) => expectMessage(e, "Experiment"));
    const get = ok(await py("GET", "mlflow/experiments/search", { max_results: "1", view_type: "ALL" }));
    expect(typeof get.next_page_token).toBe("string");
  });

  it("POST runs/create -> Run (RUNNING, ms start_time); int64 fields may come as strings", async () => {
    const body = ok(await py("POST", "mlflow/runs/create", {
      experiment_id: state.exp, user_id: "alice", start_time: "1700000000000", run_name: "contract-run",
      tags: [{ key: "mlflow.user", value: "alice" }, { key: "mlflow.source.type", value: "LOCAL" }],
    }));
    expectMessage(body.run, "Run");
    const run = Object(body.run);
    expect(run.info.status).toBe("RUNNING");
    expect(run.info.start_time).toBe(1700000000000);
    expect(run.info.user_id).toBe("alice");
    state.run = String(run.info.run_id);
    err(await py("POST", "mlflow/runs/create", { experiment_id: "999999" }), 404, "RESOURCE_DOES_NOT_EXIST");
  });

  it("POST runs/log-parameter, runs/log-metric (2.x and 3.x fields), runs/set-tag, runs/log-batch -> {}", async () => {
    const id = state.run;
    expect(ok(await py("POST", "mlflow/runs/log-parameter", { run_uuid: id, run_id: id, key: "alpha", value: "0.5" }))).toEqual({});
    expect(ok(await py("POST", "mlflow/runs/log-metric", { run_uuid: id, run_id: id, key: "rmse", value: 0.7, timestamp: 1700000000001, step: 0 }))).toEqual({});
    expect(ok(await py("POST", "mlflow/runs/log-metric", { run_uuid: id, run_id: id, key: "rmse", value: 0.6, timestamp: "1700000000002", step: "1", dataset_name: "eval", dataset_digest: "abc" }))).toEqual({});
    expect(ok(await py("POST", "mlflow/runs/set-tag", { run_uuid: id, run_id: id, key: "stage", value: "dev" }))).toEqual({});
    expect(ok(await py("POST", "mlflow/runs/log-batch", {
      run_id: id, metrics: [{ key: "mae", value: 0.4, timestamp: 1700000000003, step: 0 }], params: [{ key: "l1", value: "0.1" }], tags: [{ key: "t", value: "v" }],
    }))).toEqual({});
    err(await py("POST", "mlflow/runs/log-parameter", { run_uuid: id, run_id: id, key: "alpha", value: "0.9" }), 400, "INVALID_PARAMETER_VALUE");
    err(await py("POST", "mlflow/runs/log-metric", { run_id: "nope", key: "x", value: 1, timestamp: 1 }), 404, "RESOURCE_DOES_NOT_EXIST");
    err(await py("POST", "mlflow/runs/log-param", { run_id: id, key: "x", value: "1" }), 404, "ENDPOINT_NOT_FOUND");
  });

  it("GET runs/get with run_uuid and run_id -> Run with data; GET metrics/get-history -> Metric list", async () => {
    const body = ok(await py("GET", "mlflow/runs/get", { run_uuid: state.run, run_id: state.run }));
    expectMessage(body.run, "Run");
    const data = Object(body.run).data;
    expect(data.metrics.find((m: Json) => m.key === "rmse")).toEqual({ key: "rmse", value: 0.6, timestamp: 1700000000002, step: 1 });
    const hist = ok(await py("GET", "mlflow/metrics/get-history", { run_uuid: state.run, run_id: state.run, metric_key: "rmse" }));
    expect(Array.isArray(hist.metrics) && hist.metrics.length).toBe(2);
    if (Array.isArray(hist.metrics)) hist.metrics.forEach((m) => expectMessage(m, "Metric"));
    err(await py("GET", "mlflow/runs/get", { run_uuid: "x", run_id: "x" }), 404, "RESOURCE_DOES_NOT_EXIST");
  });

  it("POST runs/search -> SearchRuns.Response", async () => {
    const body = ok(await py("POST", "mlflow/runs/search", {
      experiment_ids: [state.exp], filter: "metrics.rmse < 1 and params.alpha = '0.5'", run_view_type: "ACTIVE_ONLY", max_results: 1000, order_by: ["metrics.rmse DESC"],
    }));
    expect(Array.isArray(body.runs) && body.runs.length).toBe(1);
    if (Array.isArray(body.runs)) body.runs.forEach((r) => expectMessage(r, "Run"));
    err(await py("POST", "mlflow/runs/search", { experiment_ids: [state.exp], filter: "metrics.rmse < 'a'" }), 400, "INVALID_PARAMETER_VALUE");
  });

  it("artifacts: PUT, GET and list through mlflow-artifacts; GET mlflow/artifacts/list -> ListArtifacts.Response", async () => {
    const base = `${srv.url}/api/2.0/mlflow-artifacts/artifacts/${state.exp}/${state.run}/artifacts`;
    const put = await fetch(`${base}/model/MLmodel`, { method: "PUT", body: "artifact_path: model\nflavors: {}\n" });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({});
    expect((await fetch(`${base}/model/MLmodel`)).status).toBe(200);
    const list = ok(await py("GET", "mlflow-artifacts/artifacts", { path: `${state.exp}/${state.run}/artifacts/model` }));
    expect(Array.isArray(list.files) && list.files.length).toBe(1);
    if (Array.isArray(list.files)) list.files.forEach((f) => expectMessage(f, "FileInfo"));
    const runList = ok(await py("GET", "mlflow/artifacts/list", { run_id: state.run, path: "model" }));
    expect(runList.root_uri).toBe(`mlflow-artifacts:/${state.exp}/${state.run}/artifacts`);
    if (Array.isArray(runList.files)) runList.files.forEach((f) => expectMessage(f, "FileInfo"));
    expect(Object(runList.files)[0]).toEqual({ path: "model/MLmodel", is_dir: false, file_size: 33 });
  });

  it("POST runs/log-model (2.x) and POST runs/update -> UpdateRun.Response", async () => {
    const mlmodel = { artifact_path: "model", flavors: { python_function: { loader_module: "mlflow.sklearn" } }, run_id: state.run, utc_time_created: "2024-05-01 10:00:00.000000" };
    expect(ok(await py("POST", "mlflow/runs/log-model", { run_id: state.run, model_json: JSON.stringify(mlmodel) }))).toEqual({});
    const u = ok(await py("POST", "mlflow/runs/update", { run_uuid: state.run, run_id: state.run, status: "FINISHED", end_time: 1700000009999, run_name: "contract-run" }));
    expectMessage(u.run_info, "RunInfo");
    expect(Object(u.run_info).status).toBe("FINISHED");
  });
});

describe("registry, as the Python client calls it", () => {
  it("POST registered-models/create and GET registered-models/get -> RegisteredModel; duplicate 400; missing 404", async () => {
    expectMessage(ok(await py("POST", "mlflow/registered-models/create", { name: state.model, tags: [], description: "contract" })).registered_model, "RegisteredModel");
    err(await py("POST", "mlflow/registered-models/create", { name: state.model }), 400, "RESOURCE_ALREADY_EXISTS");
    expectMessage(ok(await py("GET", "mlflow/registered-models/get", { name: state.model })).registered_model, "RegisteredModel");
    err(await py("GET", "mlflow/registered-models/get", { name: "missing" }), 404, "RESOURCE_DOES_NOT_EXIST");
  });

  it("POST model-versions/create with runs:/ source -> ModelVersion (version \"1\", READY)", async () => {
    const body = ok(await py("POST", "mlflow/model-versions/create", { name: state.model, source: `runs:/${state.run}/model`, run_id: state.run, tags: [{ key: "k", value: "v" }], description: "first" }));
    expectMessage(body.model_version, "ModelVersion");
    expect(Object(body.model_version).version).toBe("1");
    expect(Object(body.model_version).status).toBe("READY");
    err(await py("POST", "mlflow/model-versions/create", { name: "missing", source: "s3://b/k" }), 404, "RESOURCE_DOES_NOT_EXIST");
    err(await py("POST", "mlflow/model-versions/create", { name: state.model }), 400, "INVALID_PARAMETER_VALUE");
  });

  it("aliases: POST, GET (ModelVersion), DELETE with a JSON body", async () => {
    expect(ok(await py("POST", "mlflow/registered-models/alias", { name: state.model, alias: "champion", version: "1" }))).toEqual({});
    const g = ok(await py("GET", "mlflow/registered-models/alias", { name: state.model, alias: "champion" }));
    expectMessage(g.model_version, "ModelVersion");
    expect(Object(g.model_version).aliases).toEqual(["champion"]);
    expect(ok(await py("DELETE", "mlflow/registered-models/alias", { name: state.model, alias: "champion" }))).toEqual({});
    // A missing alias is 400 INVALID_PARAMETER_VALUE in MLflow 2.x and 3.x (golden transcript), not 404.
    err(await py("GET", "mlflow/registered-models/alias", { name: state.model, alias: "champion" }), 400, "INVALID_PARAMETER_VALUE");
    err(await py("POST", "mlflow/registered-models/alias", { name: state.model, alias: "x", version: "99" }), 404, "RESOURCE_DOES_NOT_EXIST");
  });

  it("GET model-versions/get-download-uri, model-versions/get, model-versions/search, registered-models/search", async () => {
    const d = ok(await py("GET", "mlflow/model-versions/get-download-uri", { name: state.model, version: "1" }));
    // The version's source verbatim, as MLflow answers it (golden step 267).
    expect(d).toEqual({ artifact_uri: `runs:/${state.run}/model` });
    expectMessage(ok(await py("GET", "mlflow/model-versions/get", { name: state.model, version: "1" })).model_version, "ModelVersion");
    const s = ok(await py("GET", "mlflow/model-versions/search", { filter: `name='${state.model}'`, max_results: 200000, order_by: [] }));
    if (Array.isArray(s.model_versions)) s.model_versions.forEach((v) => expectMessage(v, "ModelVersion"));
    expect(Array.isArray(s.model_versions) && s.model_versions.length).toBe(1);
    const r = ok(await py("GET", "mlflow/registered-models/search", { filter: `name LIKE '${state.model}%'`, max_results: 100 }));
    if (Array.isArray(r.registered_models)) r.registered_models.forEach((m) => expectMessage(m, "RegisteredModel"));
    err(await py("GET", "mlflow/model-versions/get", { name: state.model, version: "5" }), 404, "RESOURCE_DOES_NOT_EXIST");
  });
});

describe("logged models and run outputs (MLflow 3.x)", () => {
  it("POST logged-models, PATCH finalize, PATCH tags, GET, POST search, POST runs/outputs, versions from models:/m-<id>", async () => {
    const c = ok(await py("POST", "mlflow/logged-models", { experiment_id: state.exp, name: "clf", model_type: "", source_run_id: state.run, params: [{ key: "C", value: "1" }], tags: [] }));
    expectMessage(c.model, "LoggedModel");
    state.loggedModel = String(Object(c.model).info.model_id);
    const id = state.loggedModel;
    const put = await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${state.exp}/models/${id}/artifacts/MLmodel`, { method: "PUT", body: "flavors: {}\n" });
    expect(put.status).toBe(200);
    expectMessage(ok(await py("PATCH", `mlflow/logged-models/${id}`, { model_id: id, status: "LOGGED_MODEL_READY" })).model, "LoggedModel");
    expectMessage(ok(await py("PATCH", `mlflow/logged-models/${id}/tags`, { model_id: id, tags: [{ key: "mlflow.source.type", value: "LOCAL" }] })).model, "LoggedModel");
    const g = ok(await py("GET", `mlflow/logged-models/${id}`));
    expectMessage(g.model, "LoggedModel");
    expect(Object(g.model).info.status).toBe("LOGGED_MODEL_READY");
    const s = ok(await py("POST", "mlflow/logged-models/search", { experiment_ids: [state.exp], filter: "name = 'clf'", datasets: [], max_results: 50, order_by: [{ field_name: "creation_time", ascending: false }] }));
    expect(Array.isArray(s.models) && s.models.length).toBe(1);
    expect(ok(await py("POST", "mlflow/runs/outputs", { run_id: state.run, models: [{ model_id: id, step: 0 }] }))).toEqual({});
    expectMessage(ok(await py("GET", "mlflow/runs/get", { run_id: state.run, run_uuid: state.run })).run, "Run");
    const v = ok(await py("POST", "mlflow/model-versions/create", { name: state.model, source: `models:/${id}`, run_id: state.run, model_id: id, tags: [] }));
    expectMessage(v.model_version, "ModelVersion");
    expect(Object(v.model_version).version).toBe("2");
    const d = ok(await py("GET", "mlflow/model-versions/get-download-uri", { name: state.model, version: "2" }));
    expect(d.artifact_uri).toBe(`models:/${id}`);
    err(await py("GET", "mlflow/logged-models/m-0000"), 404, "RESOURCE_DOES_NOT_EXIST");
  });
});

describe("deletes and unknown endpoints", () => {
  it("DELETE model-versions/delete, registered-models/delete; POST runs/delete, experiments/delete", async () => {
    expect(ok(await py("DELETE", "mlflow/model-versions/delete", { name: state.model, version: "1" }))).toEqual({});
    err(await py("GET", "mlflow/model-versions/get", { name: state.model, version: "1" }), 404, "RESOURCE_DOES_NOT_EXIST");
    expect(ok(await py("DELETE", "mlflow/registered-models/delete", { name: state.model }))).toEqual({});
    err(await py("GET", "mlflow/registered-models/get", { name: state.model }), 404, "RESOURCE_DOES_NOT_EXIST");
    expect(ok(await py("POST", "mlflow/runs/delete", { run_id: state.run }))).toEqual({});
    expect(Object(ok(await py("GET", "mlflow/runs/get", { run_id: state.run })).run).info.lifecycle_stage).toBe("deleted");
    expect(ok(await py("POST", "mlflow/experiments/delete", { experiment_id: state.exp }))).toEqual({});
    expect(Object(ok(await py("GET", "mlflow/experiments/get", { experiment_id: state.exp })).experiment).lifecycle_stage).toBe("deleted");
  });

  it.each([["GET", "mlflow/unknown"], ["POST", "mlflow/runs/unknown"], ["GET", "mlflow/registered-models/unknown"]])(
    "%s %s -> 404 ENDPOINT_NOT_FOUND", async (method, endpoint) => err(await py(method, endpoint), 404, "ENDPOINT_NOT_FOUND"),
  );

  // MLflow answers a known path under another method with 405 (an HTML page there; MLflow's JSON error shape here).
  it("PUT mlflow/experiments/create -> 405", async () => err(await py("PUT", "mlflow/experiments/create"), 405, "BAD_REQUEST"));

  it("a raw '..' in the artifact URL never reaches outside the root", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: srv.port, method: "GET", path: "/api/2.0/mlflow-artifacts/artifacts/0/../../registry.sqlite" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect([400, 404]).toContain(status);
  });
});

describe("the remaining endpoints, as the Python client calls them", () => {
  const s = { exp: "", run: "", model: "contract-more", lm: "" };

  it("experiments: update, set-experiment-tag, delete-experiment-tag, delete, restore", async () => {
    s.exp = String(ok(await py("POST", "mlflow/experiments/create", { name: "contract-more" })).experiment_id);
    expect(ok(await py("POST", "mlflow/experiments/update", { experiment_id: s.exp, new_name: "contract-more-2" }))).toEqual({});
    expect(ok(await py("POST", "mlflow/experiments/set-experiment-tag", { experiment_id: s.exp, key: "k", value: "v" }))).toEqual({});
    const e = Object(ok(await py("GET", "mlflow/experiments/get", { experiment_id: s.exp })).experiment);
    expect([e.name, e.tags]).toEqual(["contract-more-2", [{ key: "k", value: "v" }]]);
    expect(ok(await py("POST", "mlflow/experiments/delete-experiment-tag", { experiment_id: s.exp, key: "k" }))).toEqual({});
    expect(ok(await py("POST", "mlflow/experiments/delete", { experiment_id: s.exp }))).toEqual({});
    err(await py("POST", "mlflow/runs/create", { experiment_id: s.exp }), 400, "INVALID_PARAMETER_VALUE");
    expect(ok(await py("POST", "mlflow/experiments/restore", { experiment_id: s.exp }))).toEqual({});
    // MLflow answers a rename onto an existing name from its UNIQUE constraint: 400 BAD_REQUEST.
    err(await py("POST", "mlflow/experiments/update", { experiment_id: "0", new_name: "contract-more-2" }), 400, "BAD_REQUEST");
  });

  it("runs: delete-tag, log-inputs, delete and restore", async () => {
    s.run = String(Object(ok(await py("POST", "mlflow/runs/create", { experiment_id: s.exp, start_time: 1 })).run).info.run_id);
    await py("POST", "mlflow/runs/set-tag", { run_id: s.run, run_uuid: s.run, key: "x", value: "1" });
    expect(ok(await py("POST", "mlflow/runs/delete-tag", { run_id: s.run, key: "x" }))).toEqual({});
    err(await py("POST", "mlflow/runs/delete-tag", { run_id: s.run, key: "x" }), 404, "RESOURCE_DOES_NOT_EXIST");
    const dataset = { name: "iris", digest: "abc123", source_type: "local", source: "{\"uri\": \"/data/iris.csv\"}", schema: "{}", profile: "{}" };
    expect(ok(await py("POST", "mlflow/runs/log-inputs", { run_id: s.run, datasets: [{ tags: [{ key: "mlflow.data.context", value: "training" }], dataset }] }))).toEqual({});
    const run = ok(await py("GET", "mlflow/runs/get", { run_id: s.run, run_uuid: s.run })).run;
    expectMessage(run, "Run");
    expect(Object(run).inputs.dataset_inputs[0].dataset).toEqual(dataset);
    expect(ok(await py("POST", "mlflow/runs/delete", { run_id: s.run }))).toEqual({});
    expect(ok(await py("POST", "mlflow/runs/restore", { run_id: s.run }))).toEqual({});
    expect(Object(ok(await py("GET", "mlflow/runs/get", { run_id: s.run })).run).info.lifecycle_stage).toBe("active");
  });

  it("registry: rename, update, set-tag/delete-tag (model and version), get-latest-versions, transition-stage, update version", async () => {
    ok(await py("POST", "mlflow/registered-models/create", { name: "contract-tmp" }));
    expectMessage(ok(await py("POST", "mlflow/registered-models/rename", { name: "contract-tmp", new_name: s.model })).registered_model, "RegisteredModel");
    err(await py("GET", "mlflow/registered-models/get", { name: "contract-tmp" }), 404, "RESOURCE_DOES_NOT_EXIST");
    expectMessage(ok(await py("PATCH", "mlflow/registered-models/update", { name: s.model, description: "d" })).registered_model, "RegisteredModel");
    expect(ok(await py("POST", "mlflow/registered-models/set-tag", { name: s.model, key: "k", value: "v" }))).toEqual({});
    expect(ok(await py("DELETE", "mlflow/registered-models/delete-tag", { name: s.model, key: "k" }))).toEqual({});
    ok(await py("POST", "mlflow/model-versions/create", { name: s.model, source: `runs:/${s.run}/model`, run_id: s.run }));
    expect(ok(await py("POST", "mlflow/model-versions/set-tag", { name: s.model, version: "1", key: "k", value: "v" }))).toEqual({});
    expect(ok(await py("DELETE", "mlflow/model-versions/delete-tag", { name: s.model, version: "1", key: "k" }))).toEqual({});
    const upd = ok(await py("PATCH", "mlflow/model-versions/update", { name: s.model, version: "1", description: "v1" }));
    expect(Object(upd.model_version).description).toBe("v1");
    const tr = ok(await py("POST", "mlflow/model-versions/transition-stage", { name: s.model, version: "1", stage: "Production", archive_existing_versions: false }));
    expect(Object(tr.model_version).current_stage).toBe("Production");
    const latest = ok(await py("POST", "mlflow/registered-models/get-latest-versions", { name: s.model, stages: ["Production"] }));
    expect(Array.isArray(latest.model_versions) && latest.model_versions.length).toBe(1);
    if (Array.isArray(latest.model_versions)) latest.model_versions.forEach((v) => expectMessage(v, "ModelVersion"));
    err(await py("POST", "mlflow/model-versions/transition-stage", { name: s.model, version: "1", stage: "Prod", archive_existing_versions: false }), 400, "INVALID_PARAMETER_VALUE");
  });

  it("logged models: params, delete-tag, artifacts/directories, delete", async () => {
    s.lm = String(Object(ok(await py("POST", "mlflow/logged-models", { experiment_id: s.exp, tags: [{ key: "a", value: "1" }] })).model).info.model_id);
    expect(ok(await py("POST", `mlflow/logged-models/${s.lm}/params`, { model_id: s.lm, params: [{ key: "p", value: "1" }] }))).toEqual({});
    expect(ok(await py("DELETE", `mlflow/logged-models/${s.lm}/tags/a`))).toEqual({});
    await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${s.exp}/models/${s.lm}/artifacts/MLmodel`, { method: "PUT", body: "x" });
    const dirs = ok(await py("GET", `mlflow/logged-models/${s.lm}/artifacts/directories`));
    expect(dirs.root_uri).toBe(`mlflow-artifacts:/${s.exp}/models/${s.lm}/artifacts`);
    if (Array.isArray(dirs.files)) dirs.files.forEach((f) => expectMessage(f, "FileInfo"));
    const model = ok(await py("GET", `mlflow/logged-models/${s.lm}`)).model;
    expect(Object(model).data.params).toEqual([{ key: "p", value: "1" }]);
    expect(ok(await py("DELETE", `mlflow/logged-models/${s.lm}`))).toEqual({});
    err(await py("GET", `mlflow/logged-models/${s.lm}`), 404, "RESOURCE_DOES_NOT_EXIST");
  });
});
