// A small client for Airflow's stable REST API (/api/v1): DAGs, DAG runs, trigger, pause/unpause, with basic auth.
import * as z from "zod";
import { ConflictError, NotFoundError, UpstreamError, ValidationError } from "../../platform/errors.ts";
import { nodeFetch } from "../../platform/http/fetch.ts";

const DagSchema = z.lazy(() =>
  z.object({
    dag_id: z.string(),
    is_paused: z.boolean().nullable().optional(),
    is_active: z.boolean().nullable().optional(),
    description: z.string().nullable().optional(),
    schedule_interval: z.unknown().optional(),
    tags: z.array(z.object({ name: z.string() })).nullable().optional(),
    owners: z.array(z.string()).optional(),
  }),
);
export type Dag = z.infer<typeof DagSchema>;

const DagRunSchema = z.lazy(() =>
  z.object({
    dag_run_id: z.string().nullable(),
    dag_id: z.string(),
    state: z.string().nullable().optional(),
    logical_date: z.string().nullable().optional(),
    execution_date: z.string().nullable().optional(),
    start_date: z.string().nullable().optional(),
    end_date: z.string().nullable().optional(),
    run_type: z.string().optional(),
    conf: z.record(z.string(), z.unknown()).nullable().optional(),
  }),
);
export type DagRun = z.infer<typeof DagRunSchema>;

const DagListSchema = z.lazy(() => z.object({ dags: z.array(DagSchema), total_entries: z.number() }));
const DagRunListSchema = z.lazy(() => z.object({ dag_runs: z.array(DagRunSchema), total_entries: z.number() }));

export interface AirflowClientOptions {
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly fetch?: ((input: string, init?: RequestInit) => Promise<Response>) | undefined;
}

export class AirflowClient {
  private readonly base: string;
  private readonly auth: string | undefined;
  private readonly fetchFn: (input: string, init?: RequestInit) => Promise<Response>;

  constructor(o: AirflowClientOptions) {
    this.base = `${o.url.replace(/\/$/, "")}/api/v1`;
    this.auth = o.username !== undefined ? `Basic ${Buffer.from(`${o.username}:${o.password ?? ""}`).toString("base64")}` : undefined;
    // node:http, not the global fetch, whose first call loads undici's dispatcher (platform/http/fetch.ts).
    this.fetchFn = o.fetch ?? nodeFetch;
  }

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.auth) headers.authorization = this.auth;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new UpstreamError("Airflow is not reachable", true, { cause: e });
    }
    if (!res.ok) {
      // Airflow answers with problem+json; only its title (a fixed phrase) is safe to show.
      const title = await res.json().then((j: unknown) => (j && typeof j === "object" && "title" in j && typeof j.title === "string" ? j.title : ""), () => "");
      const msg = `Airflow: ${title || `HTTP ${res.status}`}`;
      if (res.status === 404) throw new NotFoundError(msg);
      if (res.status === 409) throw new ConflictError(msg);
      if (res.status === 400) throw new ValidationError([{ field: "airflow", message: title || "bad request" }], msg);
      throw new UpstreamError(msg, res.status >= 500, { status: res.status >= 500 ? 502 : 502 });
    }
    const parsed = schema.safeParse(await res.json());
    if (!parsed.success) throw new UpstreamError("Airflow sent an unexpected response", false);
    return parsed.data;
  }

  listDags(limit: number, offset: number): Promise<{ dags: Dag[]; total_entries: number }> {
    return this.call("GET", `/dags?limit=${limit}&offset=${offset}&order_by=dag_id`, DagListSchema);
  }
  getDag(id: string): Promise<Dag> {
    return this.call("GET", `/dags/${encodeURIComponent(id)}`, DagSchema);
  }
  listRuns(id: string, limit: number, offset: number): Promise<{ dag_runs: DagRun[]; total_entries: number }> {
    return this.call("GET", `/dags/${encodeURIComponent(id)}/dagRuns?limit=${limit}&offset=${offset}&order_by=-execution_date`, DagRunListSchema);
  }
  trigger(id: string, conf: Record<string, unknown>, runId?: string): Promise<DagRun> {
    return this.call("POST", `/dags/${encodeURIComponent(id)}/dagRuns`, DagRunSchema, { conf, ...(runId ? { dag_run_id: runId } : {}) });
  }
  setPaused(id: string, paused: boolean): Promise<Dag> {
    return this.call("PATCH", `/dags/${encodeURIComponent(id)}?update_mask=is_paused`, DagSchema, { is_paused: paused });
  }
}
