// Canary decisions judge latency on the highest quantile both sides' request counts support: the p99 of a few dozen
// requests is their slowest one, and one slow request must not roll a healthy candidate back.
import { describe, expect, it } from "vitest";
import { decide, latencyQuantile, type CanaryRecord, type CandidateStats } from "../../../functions/deploy-model/canary.ts";
import { RolloutPolicySchema } from "../../../platform/policies/rollout.ts";

const rec: CanaryRecord = {
  name: "iris",
  model: "iris",
  backend: "local",
  stable: { deployment: "iris-v1", version: "1" },
  candidate: { deployment: "iris-v2", version: "2" },
  percent: 50,
  startedAt: 0,
  revision: "r1",
  cause: { id: "c1" },
  policy: RolloutPolicySchema.parse({ strategy: "canary", decideAfterRequests: 20, decideAfterMinutes: 10, maxErrorRateIncrease: 0.05, maxLatencyRatio: 2 }),
};

const stats = (requests: number, p50Ms: number, p95Ms: number, p99Ms?: number): CandidateStats => ({ requests, errors: 0, p50Ms, p95Ms, ...(p99Ms === undefined ? {} : { p99Ms }) });

describe("canary latency quantile", () => {
  it("promotes 30 healthy requests whose p99 is one slow request (the 66198b5 CI flake), judging on p50", () => {
    // As Prometheus answered: 29 requests in the (0, 1 ms] bucket, one in (10, 25 ms]; p99 interpolates to 20.5 ms.
    const d = decide(rec, { "iris-v1": stats(27, 0.5, 0.95, 0.99), "iris-v2": stats(30, 0.5, 0.98, 20.5) }, 60_000, "prometheus");
    expect(d.decision).toBe("promote");
    expect(d.reason).toMatch(/, p50 0\.5 ms vs 0\.5 ms$/);
  });

  it("rolls back a candidate slower across the board, on the quantile the counts support", () => {
    const slow = decide(rec, { "iris-v1": stats(30, 1, 2, 3), "iris-v2": stats(30, 5, 8, 9) }, 60_000, "prometheus");
    expect(slow).toMatchObject({ decision: "rollback" });
    expect(slow.reason).toMatch(/^p50 latency ratio 5\.00 > 2 after 30 canary requests/);
  });

  it("uses p95 from 100 requests per side and p99 from 500, when the source has p99 for both", () => {
    expect(latencyQuantile(stats(99, 1, 2, 3), stats(5000, 1, 2, 3)).q).toBe("p50");
    expect(latencyQuantile(stats(100, 1, 2, 3), stats(5000, 1, 2, 3))).toEqual({ q: "p95", candMs: 2, baseMs: 2 });
    expect(latencyQuantile(stats(499, 1, 2, 3), stats(500, 1, 2, 3)).q).toBe("p95");
    expect(latencyQuantile(stats(500, 1, 2, 3), stats(500, 1, 2, 4))).toEqual({ q: "p99", candMs: 3, baseMs: 4 });
    // The stable side counts too: a candidate with many requests against a quiet baseline.
    expect(latencyQuantile(stats(5000, 1, 2, 3), stats(120, 1, 2, 3)).q).toBe("p95");
    // A source without p99 (the embedded router's tallies before it had one) stops at p95.
    expect(latencyQuantile(stats(5000, 1, 2), stats(5000, 1, 2)).q).toBe("p95");
    expect(latencyQuantile(stats(5000, 1, 2, 3), stats(5000, 1, 2)).q).toBe("p95");
  });

  it("rolls back a p99 regression with enough requests, and ignores it with too few", () => {
    const many = decide(rec, { "iris-v1": stats(2000, 1, 2, 4), "iris-v2": stats(600, 1, 2, 12) }, 60_000, "prometheus");
    expect(many.reason).toMatch(/^p99 latency ratio 3\.00 > 2 after 600 canary requests/);
    expect(many.decision).toBe("rollback");
    const few = decide(rec, { "iris-v1": stats(2000, 1, 2, 4), "iris-v2": stats(60, 1, 2, 12) }, 60_000, "prometheus");
    expect(few).toMatchObject({ decision: "promote" });
    expect(few.reason).toMatch(/p50 1\.0 ms vs 1\.0 ms$/);
  });

  it("decides on time with only a few requests, on their median", () => {
    const d = decide(rec, { "iris-v1": stats(3, 1, 1, 1), "iris-v2": stats(2, 3, 3, 3) }, 11 * 60_000);
    expect(d).toMatchObject({ decision: "rollback" });
    expect(d.reason).toMatch(/^p50 latency ratio 3\.00 > 2 after 2 canary requests \(in-process\)/);
  });
});
