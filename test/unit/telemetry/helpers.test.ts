// Telemetry helpers: traceparent parsing, outcome mapping, path templating, config -> options, disabled factory.
import { SpanKind, TraceFlags } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../platform/config/index.ts";
import {
  createTelemetry,
  formatTraceparent,
  outcomeOf,
  parseTraceparent,
  serverSpans,
  telemetryOptions,
  templatePath,
  tracedFetch,
  tracesUrl,
  withClientSpan,
  type Telemetry,
} from "../../../platform/telemetry/index.ts";

describe("traceparent", () => {
  it.each([
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 }],
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", { traceFlags: 0 }],
    ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", undefined],
    ["00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", undefined],
    ["ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", undefined],
    ["00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", undefined],
    ["garbage", undefined],
    [42, undefined],
  ])("parses %s", (input, expected) => {
    const sc = parseTraceparent(input);
    if (expected === undefined) expect(sc).toBeUndefined();
    else expect(sc).toMatchObject({ ...expected, isRemote: true });
  });

  it("round-trips", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(formatTraceparent(parseTraceparent(tp)!)).toBe(tp);
    expect(formatTraceparent({ traceId: "a".repeat(32), spanId: "b".repeat(16), traceFlags: TraceFlags.NONE })).toMatch(/-00$/);
  });
});

describe("outcomeOf", () => {
  it.each([
    [200, "success"],
    [202, "success"],
    [400, "rejected"],
    [413, "rejected"],
    [404, "retry"],
    [429, "retry"],
    [503, "retry"],
    [500, "error"],
  ] as const)("%i -> %s", (status, outcome) => expect(outcomeOf(status)).toBe(outcome));
});

describe("templatePath", () => {
  it("replaces ids but keeps names", () => {
    expect(templatePath("/api/2.0/mlflow/model-versions/get")).toBe("/api/2.0/mlflow/model-versions/get");
    expect(templatePath("/v2/models/iris/versions/3/infer")).toBe("/v2/models/iris/versions/{id}/infer");
    expect(templatePath("/runs/0123456789abcdef0123")).toBe("/runs/{id}");
  });
});

describe("telemetryOptions", () => {
  it("takes service.name from K_SERVICE, falls back to the function name, and builds the OTLP traces URL", async () => {
    const knative = telemetryOptions(parseConfig({ K_SERVICE: "launch-training", K_REVISION: "launch-training-00001", OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318/" }), "launchTraining");
    expect(knative).toMatchObject({ serviceName: "launch-training", revision: "launch-training-00001", otlpEndpoint: "http://otel:4318/" });
    expect(tracesUrl(knative.otlpEndpoint!)).toBe("http://otel:4318/v1/traces");
    const bare = telemetryOptions(parseConfig({}), "infer");
    const t = await createTelemetry(bare);
    expect(t.enabled).toBe(false);
    expect(t.serviceName).toBe("infer");
    // A no-op tracer still runs the work.
    expect(await withClientSpan(t.tracer, "mlflow", "get", async () => 7)).toBe(7);
  });
});

describe("SERVER and CLIENT spans over HTTP", () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  beforeAll(async () => {
    telemetry = await createTelemetry({ functionName: "http-test", exporter, instrumentFetch: false });
  });
  afterAll(() => telemetry.shutdown());

  it("names the SERVER span by route, continues the caller's trace and propagates it on outgoing fetch", async () => {
    exporter.reset();
    const seen: (string | null)[] = [];
    const upstream: typeof fetch = async (input, init) => {
      seen.push(new Headers(init?.headers).get("traceparent"));
      return new Response(String(input).includes("missing") ? "no" : "{}", { status: String(input).includes("missing") ? 404 : 200 });
    };
    const client = tracedFetch({ peer: "mlflow", tracer: telemetry.tracer, fetch: upstream });
    const app = new Hono();
    app.use("*", serverSpans(telemetry.tracer));
    app.get("/v2/models/:name/ready", async (c) => {
      await client("http://mlflow:5000/api/2.0/mlflow/registered-models/get?name=x");
      await client("http://mlflow:5000/missing/42", { method: "post" });
      return c.text("ok");
    });
    const res = await app.request("/v2/models/iris/ready", {
      headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    });
    expect(res.status).toBe(200);
    await telemetry.forceFlush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const clients = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(server.name).toBe("GET /v2/models/:name/ready");
    expect(server.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(clients.map((s) => s.name)).toEqual(["mlflow GET /api/2.0/mlflow/registered-models/get", "mlflow POST /missing/{id}"]);
    for (const c of clients) expect(c.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(seen).toEqual(clients.map((c) => formatTraceparent(c.spanContext())));
    expect(clients[1]?.attributes["http.response.status_code"]).toBe(404);
    expect(clients[0]?.attributes["peer.service"]).toBe("mlflow");
  });

  it("marks a throwing client call as an error without recording a stack", async () => {
    exporter.reset();
    await expect(
      withClientSpan(telemetry.tracer, "kubernetes", "create PyTorchJob", async () => {
        throw new Error("conflict");
      }),
    ).rejects.toThrow("conflict");
    await telemetry.forceFlush();
    const [span] = exporter.getFinishedSpans();
    expect(span?.status.code).toBe(2);
    expect(span?.events[0]?.attributes?.["exception.message"]).toBe("conflict");
    expect(span?.events[0]?.attributes?.["exception.stacktrace"]).toBeUndefined();
  });
});
