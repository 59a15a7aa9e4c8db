// A minimal Prometheus HTTP API client (GET /api/v1/query and /api/v1/query_range): instant vectors as {labels, value},
// ranges as {labels, points}. Errors name the query's purpose, never echo the response body.
import * as z from "zod";
import { UpstreamError } from "../errors.ts";

export interface VectorSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One series of a range query: its labels and its [time, value] points, oldest first. */
export interface RangeSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly points: readonly { readonly at: number; readonly value: number }[];
}

export interface PrometheusRangeQuery {
  /** Range query over [startMs, endMs] every stepSeconds. */
  queryRange(expr: string, startMs: number, endMs: number, stepSeconds: number): Promise<RangeSeries[]>;
}

export interface PrometheusQuery {
  /** Instant query at `time` (epoch ms; default: now on the server). */
  query(expr: string, time?: number): Promise<VectorSample[]>;
}

const ApiAnswer = z.lazy(() =>
  z.object({
    status: z.string().optional(),
    error: z.string().optional(),
    data: z
      .object({
        resultType: z.string().optional(),
        result: z
          .array(
            z.object({
              metric: z.record(z.string(), z.string()).optional(),
              value: z.tuple([z.number(), z.string()]).optional(),
              values: z.array(z.tuple([z.number(), z.string()])).optional(),
            }),
          )
          .optional(),
      })
      .optional(),
  }),
);

export interface PrometheusClientOptions {
  readonly url: string;
  readonly token?: string | undefined;
  readonly fetch?: typeof fetch | undefined;
  readonly timeoutMs?: number | undefined;
}

export class PrometheusHttpClient implements PrometheusQuery, PrometheusRangeQuery {
  readonly #o: PrometheusClientOptions;
  constructor(o: PrometheusClientOptions) {
    this.#o = o;
  }

  async query(expr: string, time?: number): Promise<VectorSample[]> {
    const params: Record<string, string> = { query: expr };
    if (time !== undefined) params.time = String(time / 1000);
    const data = await this.#get("api/v1/query", params);
    if (data?.resultType !== "vector") return [];
    return (data.result ?? []).map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
  }

  async queryRange(expr: string, startMs: number, endMs: number, stepSeconds: number): Promise<RangeSeries[]> {
    const data = await this.#get("api/v1/query_range", { query: expr, start: String(startMs / 1000), end: String(endMs / 1000), step: String(stepSeconds) });
    if (data?.resultType !== "matrix") return [];
    return (data.result ?? []).map((r) => ({ labels: r.metric ?? {}, points: (r.values ?? []).map(([t, v]) => ({ at: t * 1000, value: Number(v) })) }));
  }

  async #get(endpoint: string, params: Record<string, string>): Promise<z.infer<typeof ApiAnswer>["data"]> {
    const url = new URL(endpoint, this.#o.url.endsWith("/") ? this.#o.url : `${this.#o.url}/`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    let res: Response;
    try {
      res = await (this.#o.fetch ?? fetch)(url, {
        headers: this.#o.token ? { authorization: `Bearer ${this.#o.token}` } : {},
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw new UpstreamError("prometheus unreachable", true, { cause: e });
    }
    const parsed = ApiAnswer.safeParse(await res.json().catch(() => ({})));
    const body = parsed.success ? parsed.data : {};
    if (!res.ok || body.status !== "success" || !parsed.success) {
      // 4xx = a bad query (ours: not retryable); 5xx / 503 = Prometheus busy or down.
      throw new UpstreamError(`prometheus query failed (HTTP ${res.status}${body.error ? `: ${body.error.slice(0, 200)}` : ""})`, res.status >= 500);
    }
    return body.data;
  }
}
