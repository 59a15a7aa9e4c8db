import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAirflow } from "../../support/fake-airflow/index.ts";
import type { FakeAirflow } from "../../support/fake-airflow/index.ts";
import { uiHarness } from "./harness.ts";
import type { UiHarness } from "./harness.ts";

let af: FakeAirflow;
let h: UiHarness;
beforeAll(async () => {
  af = await startFakeAirflow({ username: "admin", password: "pw", dags: 60 });
  h = await uiHarness({ airflowUrl: af.url });
});
afterAll(async () => {
  await h.close();
  await af.close();
});

describe("Airflow pages", () => {
  it("lists DAGs with basic auth, paginated, escaped", async () => {
    const html = await (await (await h.as("viewer")).get("/airflow")).text();
    expect(af.requests.at(-1)).toEqual({ method: "GET", path: "/api/v1/dags?limit=50&offset=0&order_by=dag_id", body: undefined });
    expect((html.match(/data-dag="/g) ?? []).length).toBe(50);
    expect(html).toContain("1–50 of 60");
    expect(html).toContain('action="/airflow/dags/dag_001/unpause"');
    expect(html).toContain('action="/airflow/dags/dag_002/pause"');
    expect(html).toContain('<a href="/airflow" class="active">Airflow</a>');
    const page2 = await (await (await h.as("viewer")).get("/airflow?offset=50&limit=50")).text();
    expect((page2.match(/data-dag="/g) ?? []).length).toBe(10);
    expect(page2).toContain("Retrain &lt;iris&gt; nightly");
  });

  it("triggers a run with conf, and shows it on the DAG page", async () => {
    const ops = await h.as("mlops-engineer");
    const res = await ops.post("/airflow/dags/iris_retrain/trigger", { conf: '{"epochs": 3}' });
    expect(res.status).toBe(303);
    expect(af.requests.at(-1)).toEqual({ method: "POST", path: "/api/v1/dags/iris_retrain/dagRuns", body: { conf: { epochs: 3 } } });
    const html = await (await ops.get("/airflow/dags/iris_retrain")).text();
    expect(html).toContain("manual__2026-01-01T00:00:00.000Z");
    expect(html).toContain('<span class="badge queued">queued</span>');
  });

  it("pauses and unpauses through PATCH update_mask=is_paused", async () => {
    const ops = await h.as("mlops-engineer");
    expect((await ops.post("/airflow/dags/iris_retrain/pause", {})).status).toBe(303);
    expect(af.requests.at(-1)).toEqual({ method: "PATCH", path: "/api/v1/dags/iris_retrain?update_mask=is_paused", body: { is_paused: true } });
    expect(af.dags[0]?.is_paused).toBe(true);
    await ops.post("/airflow/dags/iris_retrain/unpause", {});
    expect(af.dags[0]?.is_paused).toBe(false);
  });

  it("refuses state changes by GET, to viewers, and conf that is not an object", async () => {
    const viewer = await h.as("viewer");
    const n = af.requests.length;
    expect((await viewer.get("/airflow/dags/iris_retrain/pause")).status).toBe(404);
    expect((await viewer.post("/airflow/dags/iris_retrain/trigger", {})).status).toBe(403);
    expect(af.requests.length).toBe(n);
    const bad = await (await h.as("mlops-engineer")).post("/airflow/dags/iris_retrain/trigger", { conf: "[1]" });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain("conf must be a JSON object");
  });

  it("shows Airflow's 404 as a page", async () => {
    const res = await (await h.as("viewer")).get("/airflow/dags/nope");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("Airflow: DAG not found");
  });

  it("is hidden when Airflow is not configured", async () => {
    const plain = await uiHarness();
    try {
      const s = await plain.as("viewer");
      expect(await (await s.get("/")).text()).not.toContain('href="/airflow"');
      expect((await s.get("/airflow")).status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it("reports wrong credentials without leaking Airflow's body", async () => {
    const wrong = await startFakeAirflow({ username: "admin", password: "other" });
    const hh = await uiHarness({ airflowUrl: wrong.url });
    try {
      const res = await (await hh.as("viewer")).get("/airflow");
      expect(res.status).toBe(502);
      const html = await res.text();
      expect(html).toContain("Airflow: Unauthorized");
      expect(html).not.toContain("No credentials were provided");
    } finally {
      await hh.close();
      await wrong.close();
    }
  });
});
