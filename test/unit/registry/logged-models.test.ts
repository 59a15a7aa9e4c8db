import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, list, startHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeAll(() => (h = startHarness()));
afterAll(() => h.close());

describe("logged models (MLflow 3.x)", () => {
  it("create (PENDING) -> finalize (READY) -> tags -> search -> outputs on the run", async () => {
    const runId = String(get((await h.call("POST", "/mlflow/runs/create", { experiment_id: "0" })).json, "run", "info", "run_id"));
    const c = await h.call("POST", "/mlflow/logged-models", {
      experiment_id: "0", name: "clf", model_type: "Classifier", source_run_id: runId,
      params: [{ key: "C", value: "1.0" }], tags: [{ key: "t", value: "1" }],
    });
    expect(c.status).toBe(200);
    const id = String(get(c.json, "model", "info", "model_id"));
    expect(get(c.json, "model", "info", "status")).toBe("LOGGED_MODEL_PENDING");
    expect(get(c.json, "model", "info", "artifact_uri")).toBe(`mlflow-artifacts:/0/models/${id}/artifacts`);
    expect(typeof get(c.json, "model", "info", "creation_timestamp_ms")).toBe("number");
    expect(get(c.json, "model", "data", "params")).toEqual([{ key: "C", value: "1.0" }]);

    const f = await h.call("PATCH", `/mlflow/logged-models/${id}`, { model_id: id, status: "LOGGED_MODEL_READY" });
    expect(get(f.json, "model", "info", "status")).toBe("LOGGED_MODEL_READY");
    const t = await h.call("PATCH", `/mlflow/logged-models/${id}/tags`, { model_id: id, tags: [{ key: "stage", value: "dev" }] });
    expect(get(t.json, "model", "info", "tags")).toEqual([{ key: "stage", value: "dev" }, { key: "t", value: "1" }]);

    await h.call("POST", "/mlflow/runs/log-metric", { run_id: runId, key: "acc", value: 0.93, timestamp: 1, model_id: id });
    const s = await h.call("POST", "/mlflow/logged-models/search", { experiment_ids: ["0"], filter: "metrics.acc > 0.9 AND name = 'clf'", order_by: [{ field_name: "creation_time", ascending: false }] });
    expect(list(s.json, "models").map((m) => get(m, "info", "model_id"))).toEqual([id]);
    expect(get(s.json, "models", 0, "data", "metrics", 0, "key")).toBe("acc");
    const none = await h.call("POST", "/mlflow/logged-models/search", { experiment_ids: ["0"], filter: "metrics.acc > 0.95" });
    expect(none.json.models).toBeUndefined();

    expect((await h.call("POST", "/mlflow/runs/outputs", { run_id: runId, models: [{ model_id: id, step: 0 }] })).status).toBe(200);
    const run = await h.call("GET", `/mlflow/runs/get?run_id=${runId}`);
    expect(get(run.json, "run", "outputs", "model_outputs")).toEqual([{ model_id: id, step: 0 }]);
  });

  it("errors: missing model 404, bad status 400, outputs for unknown model 404", async () => {
    const missing = await h.call("GET", "/mlflow/logged-models/m-00000000000000000000000000000000");
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    const c = await h.call("POST", "/mlflow/logged-models", { experiment_id: "0" });
    const id = String(get(c.json, "model", "info", "model_id"));
    expect((await h.call("PATCH", `/mlflow/logged-models/${id}`, { status: "DONE" })).status).toBe(400);
    const runId = String(get((await h.call("POST", "/mlflow/runs/create", { experiment_id: "0" })).json, "run", "info", "run_id"));
    expect((await h.call("POST", "/mlflow/runs/outputs", { run_id: runId, models: [{ model_id: "m-nope", step: 0 }] })).status).toBe(404);
    expect((await h.call("POST", "/mlflow/logged-models", { experiment_id: "999" })).status).toBe(404);
  });
});
