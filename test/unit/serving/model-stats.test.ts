// A single model's traffic from the V2 server's series: counts per version, 5xx only as errors, histogram_quantile.
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createServingMetrics } from "../../../platform/serving/local/metrics.ts";
import { bucketQuantile, modelTraffic } from "../../../platform/serving/local/model-stats.ts";

describe("bucketQuantile", () => {
  it("interpolates inside the bucket holding the rank, like Prometheus's histogram_quantile", () => {
    const b = [{ le: 0.1, count: 50 }, { le: 0.2, count: 100 }, { le: Number.POSITIVE_INFINITY, count: 100 }];
    expect(bucketQuantile(0.5, b)).toBeCloseTo(0.1);
    expect(bucketQuantile(0.75, b)).toBeCloseTo(0.15);
    expect(bucketQuantile(0.25, b)).toBeCloseTo(0.05);
  });
  it("answers the highest finite bound for a rank in +Inf and nothing for an empty histogram", () => {
    expect(bucketQuantile(0.99, [{ le: 1, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 10 }])).toBe(1);
    expect(bucketQuantile(0.5, [{ le: 1, count: 0 }, { le: Number.POSITIVE_INFINITY, count: 0 }])).toBeUndefined();
  });
});

describe("modelTraffic", () => {
  it("counts one version's requests, its 5xx as errors, and its latency percentiles", async () => {
    const m = createServingMetrics(new Registry());
    for (let i = 0; i < 90; i++) m.duration.observe({ model: "iris", version: "2" }, 0.003);
    for (let i = 0; i < 10; i++) m.duration.observe({ model: "iris", version: "2" }, 0.2);
    m.duration.observe({ model: "iris", version: "1" }, 2);
    m.requests.inc({ model: "iris", version: "2", code: "200" }, 95);
    m.requests.inc({ model: "iris", version: "2", code: "400" }, 3);
    m.requests.inc({ model: "iris", version: "2", code: "500" }, 2);
    m.requests.inc({ model: "iris", version: "1", code: "500" }, 7);
    const t = await modelTraffic(m, "iris", "2");
    expect(t).toMatchObject({ requests: 100, errors: 2, estimated: true });
    // 90 of 100 in (2.5 ms, 5 ms]: the median is inside it; the 99th is inside (100 ms, 250 ms].
    expect(t?.p50Ms).toBeGreaterThan(2.5);
    expect(t?.p50Ms).toBeLessThanOrEqual(5);
    expect(t?.p99Ms).toBeGreaterThan(100);
    expect(t?.p99Ms).toBeLessThanOrEqual(250);
    expect(await modelTraffic(m, "iris", "3")).toBeUndefined();
  });
});
