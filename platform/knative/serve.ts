// Serves one functions-framework target the Knative way: PORT, /healthz, /readyz, /metrics, SERVER spans, metrics.
import http from "node:http";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import type { Config } from "../config/index.ts";
import { runChecks } from "../app/health.ts";
import { createMetricsRegistry } from "../metrics.ts";
import { createFunctionMetrics, outcomeOf } from "../telemetry/metrics.ts";
import { createTelemetry, telemetryOptions } from "../telemetry/sdk.ts";
import { withServerSpan } from "../telemetry/spans.ts";
import { knativeProbes } from "./probes.ts";
import { functionMetricsText } from "./registry.ts";

export interface Served {
  readonly server: http.Server;
  readonly port: number;
  /**
   * Graceful drain: /readyz fails, the socket stops accepting, idle keep-alive connections close, and the requests in
   * flight finish; those still running after `deadlineMs` are cut. Resolves true when everything finished in time.
   */
  close(deadlineMs?: number): Promise<boolean>;
}

/**
 * `target` must already be registered (its module imported). functions-framework's own server handles the request.
 * Why getTestServer: functions-framework 5.0.5 exports its server factory only through its CLI (which parses argv,
 * owns process signals and listens itself) and `./testing`. getTestServer builds exactly the production server
 * (same middleware, CloudEvent parsing and error handling) without listening, so this wrapper can own the socket and
 * add what Knative needs around it: /healthz and /readyz probes, /metrics, SERVER spans, and a graceful drain
 * (runTarget: on SIGTERM, stop accepting and finish the requests in flight before exiting).
 */
export async function serveTarget(target: string, config: Config): Promise<Served> {
  const telemetry = await createTelemetry(telemetryOptions(config, target));
  const registry = createMetricsRegistry({ service: config.knative.service, revision: config.knative.revision });
  const metrics = createFunctionMetrics(registry);
  const probes = knativeProbes(config);
  const inner = getTestServer(target);
  const forward = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    inner.emit("request", req, res);
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "GET" && path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (req.method === "GET" && path === "/readyz") {
      runChecks(probes.checks).then((results) => {
        const ready = results.every((r) => r.ok);
        res.writeHead(ready ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ status: ready ? "ready" : "not ready", components: results }));
      }, () => res.writeHead(503).end());
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      Promise.all([registry.metrics(), functionMetricsText(target)]).then(
        ([own, fn]) => res.writeHead(200, { "content-type": registry.contentType }).end(fn ? `${own}\n${fn}` : own),
        () => res.writeHead(500).end(),
      );
      return;
    }
    const started = performance.now();
    const headers = { traceparent: header(req, "traceparent"), "ce-traceparent": header(req, "ce-traceparent") };
    void withServerSpan(telemetry.tracer, { method: req.method ?? "POST", route: path, headers, attributes: { "faas.name": target } }, (span) =>
      new Promise<void>((resolve) => {
        res.on("close", () => {
          span.setAttribute("http.response.status_code", res.statusCode);
          metrics.observe(target, outcomeOf(res.statusCode), (performance.now() - started) / 1000);
          resolve();
        });
        // Inside the SERVER span's context, so spans the handler starts synchronously nest under it.
        forward(req, res);
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  return {
    server,
    port,
    close: async (deadlineMs = config.knative.drainSeconds * 1000) => {
      probes.drain();
      const closed = new Promise<void>((r) => server.close(() => r()));
      // server.close() stops accepting and (Node >= 19) closes idle keep-alive sockets; busy ones end after their response.
      let timer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), deadlineMs)))]);
      clearTimeout(timer);
      if (!inTime) {
        server.closeAllConnections();
        await closed;
      }
      await Promise.all([telemetry.shutdown(), probes.close()]);
      return inTime;
    },
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
