import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, list, startHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeAll(() => (h = startHarness()));
afterAll(() => h.close());

async function newRun(exp = "0", extra: Record<string, unknown> = {}): Promise<string> {
  const r = await h.call("POST", "/mlflow/runs/create", { experiment_id: exp, start_time: 1000, ...extra });
  expect(r.status).toBe(200);
  return String(get(r.json, "run", "info", "run_id"));
}

describe("experiments", () => {
  it("has the Default experiment with id 0", async () => {
    const r = await h.call("GET", "/mlflow/experiments/get?experiment_id=0");
    expect(r.status).toBe(200);
    expect(get(r.json, "experiment", "name")).toBe("Default");
    expect(get(r.json, "experiment", "lifecycle_stage")).toBe("active");
  });

  it("create, duplicate (400 RESOURCE_ALREADY_EXISTS), get-by-name, missing (404)", async () => {
    const c = await h.call("POST", "/mlflow/experiments/create", { name: "exp-a", tags: [{ key: "team", value: "ml" }] });
    expect(c.status).toBe(200);
    expect(typeof c.json.experiment_id).toBe("string");
    const dup = await h.call("POST", "/mlflow/experiments/create", { name: "exp-a" });
    expect(dup.status).toBe(400);
    expect(dup.json.error_code).toBe("RESOURCE_ALREADY_EXISTS");
    const byName = await h.call("GET", "/mlflow/experiments/get-by-name?experiment_name=exp-a");
    expect(get(byName.json, "experiment", "experiment_id")).toBe(c.json.experiment_id);
    expect(get(byName.json, "experiment", "artifact_location")).toBe(`mlflow-artifacts:/${String(c.json.experiment_id)}`);
    expect(get(byName.json, "experiment", "tags")).toEqual([{ key: "team", value: "ml" }]);
    const missing = await h.call("GET", "/mlflow/experiments/get-by-name?experiment_name=nope");
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    const noName = await h.call("POST", "/mlflow/experiments/create", {});
    expect(noName.status).toBe(400);
    expect(noName.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(String(noName.json.message)).toContain("'name'");
  });

  it("search filters, orders, pages and hides deleted experiments", async () => {
    for (const n of ["s-1", "s-2", "s-3"]) await h.call("POST", "/mlflow/experiments/create", { name: n });
    const p1 = await h.call("POST", "/mlflow/experiments/search", { filter: "name LIKE 's-%'", order_by: ["name DESC"], max_results: 2 });
    const names1 = list(p1.json, "experiments").map((e) => get(e, "name"));
    expect(names1).toEqual(["s-3", "s-2"]);
    expect(typeof p1.json.next_page_token).toBe("string");
    const p2 = await h.call("POST", "/mlflow/experiments/search", { filter: "name LIKE 's-%'", order_by: ["name DESC"], max_results: 2, page_token: p1.json.next_page_token });
    expect(list(p2.json, "experiments").map((e) => get(e, "name"))).toEqual(["s-1"]);
    expect(p2.json.next_page_token).toBeUndefined();
    const id = String(get(p2.json, "experiments", 0, "experiment_id"));
    expect((await h.call("POST", "/mlflow/experiments/delete", { experiment_id: id })).status).toBe(200);
    const active = await h.call("POST", "/mlflow/experiments/search", { filter: "name = 's-1'", max_results: 10 });
    expect(active.json.experiments).toBeUndefined();
    const deleted = await h.call("POST", "/mlflow/experiments/search", { filter: "name = 's-1'", view_type: "DELETED_ONLY", max_results: 10 });
    expect(list(deleted.json, "experiments").length).toBe(1);
    const bad = await h.call("POST", "/mlflow/experiments/search", { page_token: "!!notbase64json", max_results: 10 });
    expect(bad.status).toBe(400);
    const tooMany = await h.call("POST", "/mlflow/experiments/search", { max_results: 50001 });
    expect(tooMany.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("runs", () => {
  it("create gives RUNNING, ms timestamps, artifact_uri under the experiment, and the run name tag", async () => {
    const r = await h.call("POST", "/mlflow/runs/create", { experiment_id: "0", run_name: "first", start_time: 1700000000123, tags: [{ key: "k", value: "v" }] });
    expect(get(r.json, "run", "info", "status")).toBe("RUNNING");
    expect(get(r.json, "run", "info", "start_time")).toBe(1700000000123);
    const id = String(get(r.json, "run", "info", "run_id"));
    expect(get(r.json, "run", "info", "run_uuid")).toBe(id);
    expect(get(r.json, "run", "info", "artifact_uri")).toBe(`mlflow-artifacts:/0/${id}/artifacts`);
    expect(get(r.json, "run", "data", "tags")).toEqual([{ key: "k", value: "v" }, { key: "mlflow.runName", value: "first" }]);
  });

  it("runs/get accepts run_id, run_uuid, or both; 404 when missing; 400 when neither", async () => {
    const id = await newRun();
    for (const q of [`run_id=${id}`, `run_uuid=${id}`, `run_uuid=${id}&run_id=${id}`]) {
      const r = await h.call("GET", `/mlflow/runs/get?${q}`);
      expect(r.status).toBe(200);
      expect(get(r.json, "run", "info", "run_id")).toBe(id);
    }
    const missing = await h.call("GET", "/mlflow/runs/get?run_id=deadbeef");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error_code: "RESOURCE_DOES_NOT_EXIST", message: "Run with id=deadbeef not found" });
    const neither = await h.call("GET", "/mlflow/runs/get");
    expect(neither.status).toBe(400);
  });

  it("params are immutable: same value ok, different value INVALID_PARAMETER_VALUE", async () => {
    const id = await newRun();
    expect((await h.call("POST", "/mlflow/runs/log-parameter", { run_id: id, key: "lr", value: "0.1" })).status).toBe(200);
    expect((await h.call("POST", "/mlflow/runs/log-parameter", { run_id: id, key: "lr", value: "0.1" })).status).toBe(200);
    const changed = await h.call("POST", "/mlflow/runs/log-parameter", { run_id: id, key: "lr", value: "0.2" });
    expect(changed.status).toBe(400);
    expect(changed.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    const batch = await h.call("POST", "/mlflow/runs/log-batch", { run_id: id, params: [{ key: "lr", value: "0.3" }] });
    expect(batch.status).toBe(400);
    expect((await h.call("POST", "/mlflow/runs/log-param", { run_id: id, key: "x", value: "1" })).json.error_code).toBe("ENDPOINT_NOT_FOUND");
  });

  it("metrics: latest value in runs/get, full history in metrics/get-history (max_results ignored, as in MLflow 2.17)", async () => {
    const id = await newRun();
    for (let step = 0; step < 5; step++) {
      await h.call("POST", "/mlflow/runs/log-metric", { run_id: id, key: "loss", value: 1 / (step + 1), timestamp: 2000 + step, step });
    }
    const run = await h.call("GET", `/mlflow/runs/get?run_id=${id}`);
    expect(get(run.json, "run", "data", "metrics")).toEqual([{ key: "loss", value: 0.2, timestamp: 2004, step: 4 }]);
    const hist = await h.call("GET", `/mlflow/metrics/get-history?run_id=${id}&metric_key=loss`);
    expect(list(hist.json, "metrics").length).toBe(5);
    const page1 = await h.call("GET", `/mlflow/metrics/get-history?run_id=${id}&metric_key=loss&max_results=2`);
    expect(list(page1.json, "metrics").length).toBe(5);
    expect(page1.json.next_page_token).toBeUndefined();
    const noTs = await h.call("POST", "/mlflow/runs/log-metric", { run_id: id, key: "loss", value: 1 });
    expect(noTs.status).toBe(400);
  });

  it.each<[{ metrics?: number; params?: number; tags?: number }, RegExp]>([
    [{ metrics: 1001 }, /at most 1000 metrics/],
    [{ params: 101 }, /at most 100 params/],
    [{ tags: 101 }, /at most 100 tags/],
    [{ metrics: 900, params: 60, tags: 60 }, /at most 1000 metrics, params, and tags/],
  ])("log-batch limits %o", async (counts, message) => {
    const id = await newRun();
    const r = await h.call("POST", "/mlflow/runs/log-batch", {
      run_id: id,
      metrics: Array.from({ length: counts.metrics ?? 0 }, (_, i) => ({ key: `m${i}`, value: i, timestamp: 1, step: 0 })),
      params: Array.from({ length: counts.params ?? 0 }, (_, i) => ({ key: `p${i}`, value: "v" })),
      tags: Array.from({ length: counts.tags ?? 0 }, (_, i) => ({ key: `t${i}`, value: "v" })),
    });
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(String(r.json.message)).toMatch(message);
  });

  it("log-batch at the limits is accepted", async () => {
    const id = await newRun();
    const r = await h.call("POST", "/mlflow/runs/log-batch", {
      run_id: id,
      metrics: Array.from({ length: 800 }, (_, i) => ({ key: `m${i}`, value: i, timestamp: 1 })),
      params: Array.from({ length: 100 }, (_, i) => ({ key: `p${i}`, value: "v" })),
      tags: Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: "v" })),
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({});
  });

  it("update sets status and end_time; a deleted run refuses writes but can be read", async () => {
    const id = await newRun();
    const u = await h.call("POST", "/mlflow/runs/update", { run_id: id, status: "FINISHED", end_time: 5000 });
    expect(get(u.json, "run_info", "status")).toBe("FINISHED");
    expect(get(u.json, "run_info", "end_time")).toBe(5000);
    // An unknown status is ignored by MLflow 2.17 (golden step 315): 200 and the status is unchanged.
    const bad = await h.call("POST", "/mlflow/runs/update", { run_id: id, status: "DONE" });
    expect(get(bad.json, "run_info", "status")).toBe("FINISHED");
    await h.call("POST", "/mlflow/runs/delete", { run_id: id });
    const tag = await h.call("POST", "/mlflow/runs/set-tag", { run_id: id, key: "a", value: "b" });
    expect(tag.status).toBe(400);
    expect(get((await h.call("GET", `/mlflow/runs/get?run_id=${id}`)).json, "run", "info", "lifecycle_stage")).toBe("deleted");
  });

  it("search runs with MLflow filters, order_by (absent values last) and page tokens", async () => {
    const exp = String((await h.call("POST", "/mlflow/experiments/create", { name: "search-runs" })).json.experiment_id);
    const ids: string[] = [];
    for (const [i, rmse] of [[0, 0.3], [1, 0.1], [2, 0.2]] as const) {
      const id = await newRun(exp, { run_name: `r${i}`, start_time: 1000 + i });
      ids.push(id);
      await h.call("POST", "/mlflow/runs/log-batch", { run_id: id, metrics: [{ key: "rmse", value: rmse, timestamp: 1 }], params: [{ key: "model", value: i === 1 ? "tree" : "linear" }], tags: [{ key: "team", value: "a" }] });
    }
    await newRun(exp, { run_name: "no-metric", start_time: 2000 });
    const q = async (body: Record<string, unknown>) => (await h.call("POST", "/mlflow/runs/search", { experiment_ids: [exp], ...body })).json;
    const names = (j: Record<string, unknown>) => list(j, "runs").map((r) => get(r, "info", "run_name"));
    expect(names(await q({ filter: "metrics.rmse < 0.25" , order_by: ["metrics.rmse ASC"] }))).toEqual(["r1", "r2"]);
    expect(names(await q({ filter: "params.model = 'linear' and tags.team = 'a'", order_by: ["attributes.start_time DESC"] }))).toEqual(["r2", "r0"]);
    expect(names(await q({ order_by: ["metrics.rmse DESC"] }))).toEqual(["r0", "r2", "r1", "no-metric"]);
    expect(names(await q({}))).toEqual(["no-metric", "r2", "r1", "r0"]);
    const p1 = await q({ max_results: 3 });
    expect(names(p1)).toEqual(["no-metric", "r2", "r1"]);
    expect(names(await q({ max_results: 3, page_token: p1.next_page_token }))).toEqual(["r0"]);
    expect((await h.call("POST", "/mlflow/runs/search", { experiment_ids: [exp], filter: "metrics.rmse = 'x'" })).status).toBe(400);
  });

  it("runs/log-model appends to mlflow.log-model.history", async () => {
    const id = await newRun();
    const model = { artifact_path: "model", flavors: { onnx: {} }, run_id: id, utc_time_created: "2024-01-01 00:00:00" };
    expect((await h.call("POST", "/mlflow/runs/log-model", { run_id: id, model_json: JSON.stringify(model) })).status).toBe(200);
    const tags = list((await h.call("GET", `/mlflow/runs/get?run_id=${id}`)).json, "run", "data", "tags");
    const hist = tags.find((t) => get(t, "key") === "mlflow.log-model.history");
    expect(JSON.parse(String(get(hist, "value") ?? "[]"))).toEqual([model]);
    const bad = await h.call("POST", "/mlflow/runs/log-model", { run_id: id, model_json: "{not json" });
    expect(bad.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("unknown endpoints", () => {
  it.each([["GET", "/mlflow/does-not-exist"], ["POST", "/mlflow/experiments/frobnicate"], ["GET", "/mlflow-artifacts/other"]])(
    "%s %s -> 404 ENDPOINT_NOT_FOUND",
    async (method, p) => {
      const r = await h.call(method, p);
      expect(r.status).toBe(404);
      expect(r.json.error_code).toBe("ENDPOINT_NOT_FOUND");
      expect(typeof r.json.message).toBe("string");
    },
  );

  it("malformed JSON is INVALID_PARAMETER_VALUE", async () => {
    const r = await h.call("POST", "/mlflow/experiments/create", "{oops");
    expect(r.status).toBe(400);
    expect(r.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });
});
