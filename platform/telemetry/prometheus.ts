// A minimal Prometheus HTTP API client (GET /api/v1/query): instant vectors as {labels, value}. Errors name the query's
// purpose, never echo the response body.
import { z } from "zod";
import { UpstreamError } from "../errors.ts";

export interface VectorSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusQuery {
  /** Instant query at `time` (epoch ms; default: now on the server). */
  query(expr: string, time?: number): Promise<VectorSample[]>;
}

const ApiAnswer = z.object({
  status: z.string().optional(),
  error: z.string().optional(),
  data: z
    .object({
      resultType: z.string().optional(),
      result: z.array(z.object({ metric: z.record(z.string(), z.string()).optional(), value: z.tuple([z.number(), z.string()]).optional() })).optional(),
    })
    .optional(),
});

export interface PrometheusClientOptions {
  readonly url: string;
  readonly token?: string | undefined;
  readonly fetch?: typeof fetch | undefined;
  readonly timeoutMs?: number | undefined;
}

export class PrometheusHttpClient implements PrometheusQuery {
  readonly #o: PrometheusClientOptions;
  constructor(o: PrometheusClientOptions) {
    this.#o = o;
  }

  async query(expr: string, time?: number): Promise<VectorSample[]> {
    const url = new URL("api/v1/query", this.#o.url.endsWith("/") ? this.#o.url : `${this.#o.url}/`);
    url.searchParams.set("query", expr);
    if (time !== undefined) url.searchParams.set("time", String(time / 1000));
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
    if (body.data?.resultType !== "vector") return [];
    return (body.data.result ?? []).map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
  }
}
