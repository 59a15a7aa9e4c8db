// The real OTLP/HTTP exporter path: createTelemetry with an endpoint posts spans to <endpoint>/v1/traces.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createTelemetry, withClientSpan } from "../../../platform/telemetry/index.ts";

const received: { path: string | undefined; type: string | undefined; body: Buffer }[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    received.push({ path: req.url, type: req.headers["content-type"], body: Buffer.concat(chunks) });
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("OTLP/HTTP export", () => {
  it("sends spans with service.name from K_SERVICE to the collector", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const { port } = server.address() as AddressInfo;
    const t = await createTelemetry({
      functionName: "deployModel",
      serviceName: "deploy-model",
      revision: "deploy-model-00002",
      otlpEndpoint: `http://127.0.0.1:${port}`,
      instrumentFetch: false,
    });
    expect(t.enabled).toBe(true);
    await withClientSpan(t.tracer, "kubernetes", "create InferenceService", async () => undefined);
    await t.forceFlush();
    await t.shutdown();
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]?.path).toBe("/v1/traces");
    const text = received.map((r) => r.body.toString("latin1")).join("");
    // Protobuf or JSON: either way the strings are there verbatim.
    expect(text).toContain("deploy-model");
    expect(text).toContain("kubernetes create InferenceService");
    expect(text).toContain("deploy-model-00002");
  });
});
