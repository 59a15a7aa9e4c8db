// Knative's queue-proxy in front of one revision's runtime: proxies every request and counts it on the user-metrics
// port as Knative names it (knative.dev/docs/serving/services/service-metrics): revision_app_request_count and the
// revision_app_request_latencies histogram (ms), labelled namespace_name, configuration_name, revision_name,
// service_name, container_name, pod_name, response_code, response_code_class. As the real one, a series appears
// with its first request (no zero before it), so increase() over it misses what came before its first scrape.
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Knative's request latency buckets (ms). */
const BUCKETS = [5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

export interface QueueProxyOptions {
  readonly namespace: string;
  /** KServe's <isvc>-predictor (the Knative Service and Configuration). */
  readonly service: string;
  readonly revision: string;
  readonly target: string;
}

interface Series {
  count: number;
  buckets: number[];
  sum: number;
}

export class QueueProxy {
  readonly #o: QueueProxyOptions;
  readonly #series = new Map<string, Series>();
  readonly #proxy: http.Server;
  readonly #metrics: http.Server;
  #url = "";
  #metricsAddress = "";

  constructor(o: QueueProxyOptions) {
    this.#o = o;
    this.#proxy = http.createServer((req, res) => {
      const t0 = performance.now();
      const done = (code: number): void => this.#count(code, performance.now() - t0);
      const up = http.request(new URL(req.url ?? "/", o.target), { method: req.method, headers: { ...req.headers, host: new URL(o.target).host } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        ur.once("end", () => done(ur.statusCode ?? 502));
      });
      up.on("error", () => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "the revision's container is unreachable" }));
        done(502);
      });
      req.pipe(up);
    });
    this.#metrics = http.createServer((req, res) => {
      if (req.url !== "/metrics") return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.exposition());
    });
  }

  async listen(): Promise<void> {
    const on = async (s: http.Server): Promise<number> => {
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
      return (s.address() as AddressInfo).port;
    };
    this.#url = `http://127.0.0.1:${await on(this.#proxy)}`;
    this.#metricsAddress = `127.0.0.1:${await on(this.#metrics)}`;
  }

  /** The revision's data path (what the route sends traffic to). */
  get url(): string {
    return this.#url;
  }

  /** host:port of the user-metrics endpoint (the private Service's http-usermetric port). */
  get metricsAddress(): string {
    return this.#metricsAddress;
  }

  #count(code: number, ms: number): void {
    const key = String(code);
    const s = this.#series.get(key) ?? { count: 0, buckets: BUCKETS.map(() => 0), sum: 0 };
    s.count += 1;
    s.sum += ms;
    BUCKETS.forEach((le, i) => {
      if (ms <= le) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    });
    this.#series.set(key, s);
  }

  exposition(): string {
    const o = this.#o;
    const base = `namespace_name="${o.namespace}",configuration_name="${o.service}",revision_name="${o.revision}",service_name="${o.service}",container_name="queue-proxy",pod_name="${o.revision}-deployment-0"`;
    const lines = ["# TYPE revision_app_request_count counter"];
    for (const [code, s] of this.#series) lines.push(`revision_app_request_count{${base},response_code="${code}",response_code_class="${code[0]}xx"} ${s.count}`);
    lines.push("# TYPE revision_app_request_latencies histogram");
    for (const [code, s] of this.#series) {
      const l = `${base},response_code="${code}",response_code_class="${code[0]}xx"`;
      BUCKETS.forEach((le, i) => lines.push(`revision_app_request_latencies_bucket{${l},le="${le}"} ${s.buckets[i] ?? 0}`));
      lines.push(`revision_app_request_latencies_bucket{${l},le="+Inf"} ${s.count}`, `revision_app_request_latencies_sum{${l}} ${s.sum}`, `revision_app_request_latencies_count{${l}} ${s.count}`);
    }
    return `${lines.join("\n")}\n`;
  }

  async close(): Promise<void> {
    for (const s of [this.#proxy, this.#metrics]) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}
