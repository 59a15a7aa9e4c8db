// A fake of Airflow's stable REST API (/api/v1) for tests: DAGs, DAG runs, trigger, pause/unpause, basic auth,
// problem+json errors (401, 404, 409) as Airflow sends them.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import { Hono } from "hono";
import type { Context } from "hono";

export interface FakeDag {
  dag_id: string;
  is_paused: boolean;
  is_active: boolean;
  description: string | null;
  schedule_interval: { __type: "CronExpression"; value: string } | null;
  tags: { name: string }[];
  owners: string[];
}
export interface FakeDagRun {
  dag_run_id: string;
  dag_id: string;
  state: "queued" | "running" | "success" | "failed";
  logical_date: string;
  execution_date: string;
  start_date: string | null;
  end_date: string | null;
  run_type: "manual" | "scheduled";
  conf: Record<string, unknown>;
}

export interface FakeAirflow {
  readonly url: string;
  readonly dags: FakeDag[];
  readonly runs: FakeDagRun[];
  readonly requests: { method: string; path: string; body: unknown }[];
  close(): Promise<void>;
}

const problem = (c: Context, status: 400 | 401 | 404 | 409, title: string, detail: string): Response =>
  c.json({ type: `https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/${title.replace(/ /g, "")}`, title, status, detail }, status, { "content-type": "application/problem+json" });

export async function startFakeAirflow(opts: { username: string; password: string; dags?: number }): Promise<FakeAirflow> {
  const dags: FakeDag[] = Array.from({ length: opts.dags ?? 3 }, (_, i) => ({
    dag_id: i === 0 ? "iris_retrain" : `dag_${String(i).padStart(3, "0")}`,
    is_paused: i % 2 === 1,
    is_active: true,
    description: i === 0 ? "Retrain <iris> nightly" : null,
    schedule_interval: { __type: "CronExpression", value: "0 3 * * *" },
    tags: [{ name: "flywheel" }],
    owners: ["airflow"],
  }));
  const runs: FakeDagRun[] = [];
  const requests: FakeAirflow["requests"] = [];
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  const app = new Hono();
  app.use("/api/v1/*", async (c, next) => {
    const body: unknown = c.req.method === "GET" ? undefined : await c.req.json().catch(() => undefined);
    requests.push({ method: c.req.method, path: c.req.path + (new URL(c.req.url).search || ""), body });
    if (c.req.header("authorization") !== expected) return problem(c, 401, "Unauthorized", "No credentials were provided");
    await next();
    return undefined;
  });
  const page = <T,>(c: Context, list: T[]): T[] => {
    const limit = Number(c.req.query("limit") ?? "100");
    const offset = Number(c.req.query("offset") ?? "0");
    return list.slice(offset, offset + limit);
  };
  app.get("/api/v1/dags", (c) => c.json({ dags: page(c, [...dags].sort((a, b) => a.dag_id.localeCompare(b.dag_id))), total_entries: dags.length }));
  app.get("/api/v1/dags/:id", (c) => {
    const d = dags.find((x) => x.dag_id === c.req.param("id"));
    return d ? c.json(d) : problem(c, 404, "DAG not found", `DAG with dag_id: '${c.req.param("id")}' not found`);
  });
  app.patch("/api/v1/dags/:id", async (c) => {
    const d = dags.find((x) => x.dag_id === c.req.param("id"));
    if (!d) return problem(c, 404, "DAG not found", "not found");
    if (c.req.query("update_mask") !== "is_paused") return problem(c, 400, "Bad Request", "Only `is_paused` field can be updated through the REST API");
    const body: unknown = await c.req.json();
    if (!body || typeof body !== "object" || !("is_paused" in body) || typeof body.is_paused !== "boolean") return problem(c, 400, "Bad Request", "is_paused must be a boolean");
    d.is_paused = body.is_paused;
    return c.json(d);
  });
  app.get("/api/v1/dags/:id/dagRuns", (c) => {
    const id = c.req.param("id");
    if (!dags.some((d) => d.dag_id === id)) return problem(c, 404, "DAG not found", "not found");
    const list = runs.filter((r) => r.dag_id === id).sort((a, b) => b.execution_date.localeCompare(a.execution_date));
    return c.json({ dag_runs: page(c, list), total_entries: list.length });
  });
  app.post("/api/v1/dags/:id/dagRuns", async (c) => {
    const id = c.req.param("id");
    if (!dags.some((d) => d.dag_id === id)) return problem(c, 404, "DAG not found", "not found");
    const body: unknown = await c.req.json();
    const conf = body && typeof body === "object" && "conf" in body && body.conf && typeof body.conf === "object" ? Object.fromEntries(Object.entries(body.conf)) : {};
    const now = new Date(Date.UTC(2026, 0, 1, 0, 0, runs.length)).toISOString();
    const runId = body && typeof body === "object" && "dag_run_id" in body && typeof body.dag_run_id === "string" ? body.dag_run_id : `manual__${now}`;
    if (runs.some((r) => r.dag_id === id && r.dag_run_id === runId)) return problem(c, 409, "Conflict", `DAGRun with DAG ID: '${id}' and DAGRun ID: '${runId}' already exists`);
    const run: FakeDagRun = { dag_run_id: runId, dag_id: id, state: "queued", logical_date: now, execution_date: now, start_date: null, end_date: null, run_type: "manual", conf };
    runs.push(run);
    return c.json(run);
  });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  const addr = server.address();
  const port = addr && typeof addr === "object" ? (addr satisfies AddressInfo).port : 0;
  return { url: `http://127.0.0.1:${port}`, dags, runs, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}
