import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, list, startHarness, type Harness } from "./harness.ts";

let h: Harness;
let runId = "";
beforeAll(async () => {
  h = startHarness();
  runId = String(get((await h.call("POST", "/mlflow/runs/create", { experiment_id: "0" })).json, "run", "info", "run_id"));
});
afterAll(() => h.close());

const version = async (name: string, source = `runs:/${runId}/model`, extra: Record<string, unknown> = {}) => {
  const r = await h.call("POST", "/mlflow/model-versions/create", { name, source, run_id: runId, ...extra });
  expect(r.status).toBe(200);
  return r.json;
};

describe("registered models", () => {
  it("create, duplicate is 400 RESOURCE_ALREADY_EXISTS, get, missing 404", async () => {
    const c = await h.call("POST", "/mlflow/registered-models/create", { name: "iris", tags: [{ key: "owner", value: "ml" }], description: "d" });
    expect(c.status).toBe(200);
    expect(get(c.json, "registered_model", "name")).toBe("iris");
    expect(typeof get(c.json, "registered_model", "creation_timestamp")).toBe("number");
    const dup = await h.call("POST", "/mlflow/registered-models/create", { name: "iris" });
    expect(dup.status).toBe(400);
    expect(dup.json).toEqual({ error_code: "RESOURCE_ALREADY_EXISTS", message: "Registered Model (name=iris) already exists." });
    const g = await h.call("GET", "/mlflow/registered-models/get?name=iris");
    expect(get(g.json, "registered_model", "description")).toBe("d");
    expect(get(g.json, "registered_model", "tags")).toEqual([{ key: "owner", value: "ml" }]);
    const missing = await h.call("GET", "/mlflow/registered-models/get?name=nope");
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("update description, tags, search with filter and paging, delete", async () => {
    for (const n of ["rm-a", "rm-b", "rm-c"]) await h.call("POST", "/mlflow/registered-models/create", { name: n });
    await h.call("PATCH", "/mlflow/registered-models/update", { name: "rm-a", description: "new" });
    await h.call("POST", "/mlflow/registered-models/set-tag", { name: "rm-b", key: "stage", value: "prod" });
    expect(get((await h.call("GET", "/mlflow/registered-models/get?name=rm-a")).json, "registered_model", "description")).toBe("new");
    const byTag = await h.call("GET", `/mlflow/registered-models/search?filter=${encodeURIComponent("tags.stage = 'prod'")}`);
    expect(list(byTag.json, "registered_models").map((m) => get(m, "name"))).toEqual(["rm-b"]);
    const p1 = await h.call("GET", `/mlflow/registered-models/search?filter=${encodeURIComponent("name LIKE 'rm-%'")}&max_results=2`);
    expect(list(p1.json, "registered_models").map((m) => get(m, "name"))).toEqual(["rm-a", "rm-b"]);
    const p2 = await h.call("GET", `/mlflow/registered-models/search?filter=${encodeURIComponent("name LIKE 'rm-%'")}&max_results=2&page_token=${encodeURIComponent(String(p1.json.next_page_token))}`);
    expect(list(p2.json, "registered_models").map((m) => get(m, "name"))).toEqual(["rm-c"]);
    expect((await h.call("GET", "/mlflow/registered-models/search?max_results=1001")).status).toBe(400);
    expect((await h.call("DELETE", "/mlflow/registered-models/delete", { name: "rm-c" })).status).toBe(200);
    expect((await h.call("GET", "/mlflow/registered-models/get?name=rm-c")).status).toBe(404);
  });

  it("3.x clients: a model without the prompt tag matches tag.`mlflow.prompt.is_prompt` != 'true'; /version answers", async () => {
    for (const n of ["pm-model", "pm-prompt"]) await h.call("POST", "/mlflow/registered-models/create", { name: n });
    await h.call("POST", "/mlflow/registered-models/set-tag", { name: "pm-prompt", key: "mlflow.prompt.is_prompt", value: "true" });
    const filter = encodeURIComponent("name LIKE 'pm-%' AND tag.`mlflow.prompt.is_prompt` != 'true'");
    const r = await h.call("GET", `/mlflow/registered-models/search?filter=${filter}`);
    expect(list(r.json, "registered_models").map((m) => get(m, "name"))).toEqual(["pm-model"]);
    const version = await h.server.app.request("http://registry.test/version");
    expect([version.status, await version.text()]).toEqual([200, "2.17.2"]);
  });
});

describe("model versions", () => {
  it("versions are strings counting from 1; sources runs:/, models:/m-, artifact URI; download URI is the source verbatim", async () => {
    await h.call("POST", "/mlflow/registered-models/create", { name: "mv" });
    const v1 = await version("mv");
    expect(get(v1, "model_version", "version")).toBe("1");
    expect(get(v1, "model_version", "status")).toBe("READY");
    expect(get(v1, "model_version", "source")).toBe(`runs:/${runId}/model`);
    const d1 = await h.call("GET", "/mlflow/model-versions/get-download-uri?name=mv&version=1");
    expect(d1.json).toEqual({ artifact_uri: `runs:/${runId}/model` });

    const lm = await h.call("POST", "/mlflow/logged-models", { experiment_id: "0", name: "m", source_run_id: runId });
    const modelId = String(get(lm.json, "model", "info", "model_id"));
    expect(modelId).toMatch(/^m-[0-9a-f]{32}$/);
    const v2 = await version("mv", `models:/${modelId}`);
    expect(get(v2, "model_version", "version")).toBe("2");
    expect(get(v2, "model_version", "model_id")).toBe(modelId);
    const d2 = await h.call("GET", "/mlflow/model-versions/get-download-uri?name=mv&version=2");
    expect(d2.json.artifact_uri).toBe(`models:/${modelId}`);
    const reg = await h.call("GET", `/mlflow/logged-models/${modelId}`);
    expect(get(reg.json, "model", "info", "registrations")).toEqual([{ name: "mv", version: "2" }]);

    const v3 = await version("mv", "s3://bucket/models/iris");
    expect((await h.call("GET", "/mlflow/model-versions/get-download-uri?name=mv&version=3")).json.artifact_uri).toBe("s3://bucket/models/iris");
    expect(get(v3, "model_version", "version")).toBe("3");
  });

  it.each([
    ["/etc/passwd", "no run"],
    ["file:///etc/passwd", "outside the run"],
    ["runs:/x/../../etc", "traversal"],
  ])("rejects local or traversing source %s (%s)", async (source) => {
    await h.call("POST", "/mlflow/registered-models/create", { name: "badsrc" });
    const r = await h.call("POST", "/mlflow/model-versions/create", { name: "badsrc", source });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("create on a missing model is 404; get missing version is 404", async () => {
    const r = await h.call("POST", "/mlflow/model-versions/create", { name: "ghost", source: "s3://b/m" });
    expect(r.status).toBe(404);
    expect(r.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    await h.call("POST", "/mlflow/registered-models/create", { name: "few" });
    const g = await h.call("GET", "/mlflow/model-versions/get?name=few&version=7");
    expect(g.status).toBe(404);
    expect(g.json).toEqual({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "Model Version (name=few, version=7) not found" });
  });

  it("tags, search by tag (backticked dotted key), delete keeps numbering", async () => {
    await h.call("POST", "/mlflow/registered-models/create", { name: "tagged" });
    await version("tagged", "s3://b/1", { tags: [{ key: "flywheel.event_id", value: "e-1" }] });
    await version("tagged", "s3://b/2", { tags: [{ key: "flywheel.event_id", value: "e-2" }] });
    await h.call("POST", "/mlflow/model-versions/set-tag", { name: "tagged", version: "2", key: "k", value: "v" });
    const filter = encodeURIComponent("name = 'tagged' AND tags.`flywheel.event_id` = 'e-2'");
    const s = await h.call("GET", `/mlflow/model-versions/search?filter=${filter}`);
    expect(list(s.json, "model_versions").map((v) => get(v, "version"))).toEqual(["2"]);
    expect(get(s.json, "model_versions", 0, "tags")).toEqual([{ key: "flywheel.event_id", value: "e-2" }, { key: "k", value: "v" }]);
    const all = await h.call("GET", `/mlflow/model-versions/search?filter=${encodeURIComponent("name='tagged'")}`);
    expect(list(all.json, "model_versions").map((v) => get(v, "version"))).toEqual(["2", "1"]);
    await h.call("DELETE", "/mlflow/model-versions/delete", { name: "tagged", version: "2" });
    expect((await h.call("GET", "/mlflow/model-versions/get?name=tagged&version=2")).status).toBe(404);
    const v3 = await version("tagged", "s3://b/3");
    expect(get(v3, "model_version", "version")).toBe("3");
  });
});

describe("aliases", () => {
  it("set, get by alias, appear on model and version, move, delete with a JSON body", async () => {
    await h.call("POST", "/mlflow/registered-models/create", { name: "al" });
    await version("al", "s3://b/1");
    await version("al", "s3://b/2");
    expect((await h.call("POST", "/mlflow/registered-models/alias", { name: "al", alias: "champion", version: "1" })).json).toEqual({});
    const g = await h.call("GET", "/mlflow/registered-models/alias?name=al&alias=champion");
    expect(get(g.json, "model_version", "version")).toBe("1");
    expect(get(g.json, "model_version", "aliases")).toEqual(["champion"]);
    await h.call("POST", "/mlflow/registered-models/alias", { name: "al", alias: "champion", version: "2" });
    const m = await h.call("GET", "/mlflow/registered-models/get?name=al");
    expect(get(m.json, "registered_model", "aliases")).toEqual([{ alias: "champion", version: "2" }]);
    expect((await h.call("DELETE", "/mlflow/registered-models/alias", { name: "al", alias: "champion" })).status).toBe(200);
    const gone = await h.call("GET", "/mlflow/registered-models/alias?name=al&alias=champion");
    expect(gone.status).toBe(400);
    expect(gone.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });

  it.each(["latest", "v1", "Version3"])("reserved alias %s is rejected", async (alias) => {
    await h.call("POST", "/mlflow/registered-models/create", { name: "res" });
    await version("res", "s3://b/1");
    const r = await h.call("POST", "/mlflow/registered-models/alias", { name: "res", alias, version: "1" });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("alias to a missing version is 404; deleting a version drops its aliases (then 400, like any missing alias)", async () => {
    await h.call("POST", "/mlflow/registered-models/create", { name: "al2" });
    await version("al2", "s3://b/1");
    expect((await h.call("POST", "/mlflow/registered-models/alias", { name: "al2", alias: "x", version: "9" })).status).toBe(404);
    await h.call("POST", "/mlflow/registered-models/alias", { name: "al2", alias: "x", version: "1" });
    await h.call("DELETE", "/mlflow/model-versions/delete", { name: "al2", version: "1" });
    expect((await h.call("GET", "/mlflow/registered-models/alias?name=al2&alias=x")).status).toBe(400);
  });
});
