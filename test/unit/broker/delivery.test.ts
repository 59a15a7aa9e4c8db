// DeliverySpec maths: ISO-8601 durations, linear/exponential backoff, Knative's retryable statuses, knativeerror*.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import {
  backoffMs,
  DEFAULT_TIMEOUT_MS,
  destinationUrl,
  isRetryable,
  isSuccess,
  KNATIVE_ERROR_DATA_MAX,
  knativeErrorExtensions,
  MAX_BACKOFF_MS,
  resolveDelivery,
} from "../../../platform/eventing/delivery.ts";
import { parseIsoDuration, tryParseIsoDuration } from "../../../platform/eventing/duration.ts";
import { isRfc3339 } from "../../../platform/local/broker/ingress.ts";

describe("ISO-8601 durations", () => {
  const ok: [string, number][] = [
    ["PT0.5S", 500],
    ["PT2S", 2_000],
    ["PT1.5S", 1_500],
    ["PT2.5S", 2_500],
    ["PT0,25S", 250],
    ["PT1M", 60_000],
    ["PT1M30S", 90_000],
    ["PT1H", 3_600_000],
    ["PT1H1M1S", 3_661_000],
    ["P1D", 86_400_000],
    ["P1DT12H", 129_600_000],
    ["P1W", 604_800_000],
    ["PT0S", 0],
    ["pt10s", 10_000],
  ];
  it.each(ok)("%s = %d ms", (text, ms) => {
    expect(tryParseIsoDuration(text)).toBe(ms);
    expect(parseIsoDuration(text)).toBe(ms);
  });

  const bad = ["", "P", "PT", "P1DT", "500ms", "1S", "PT-1S", "-PT1S", "PTS", "PT1.S", "P1.5.2D", "PT1H2X"];
  it.each(bad)("rejects %j", (text) => {
    expect(tryParseIsoDuration(text)).toBeUndefined();
    expect(() => parseIsoDuration(text, "delivery.backoffDelay")).toThrow(ValidationError);
  });

  it("names the field in its error", () => {
    expect(() => parseIsoDuration("soon", "delivery.timeout")).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ field: "delivery.timeout" })] }),
    );
  });
});

describe("backoff maths (Knative RetryConfigFromDeliverySpec: linear = delay*n, exponential = delay*2^n)", () => {
  // Knative's own retries_test.go table: PT2.5S linear and PT0.5S / PT1.5S exponential for retries 1..5.
  const cases: [string, "linear" | "exponential", number, number[]][] = [
    ["linear PT2.5S", "linear", 2_500, [2_500, 5_000, 7_500, 10_000, 12_500]],
    ["exponential PT0.5S", "exponential", 500, [1_000, 2_000, 4_000, 8_000, 16_000]],
    ["exponential PT1.5S", "exponential", 1_500, [3_000, 6_000, 12_000, 24_000, 48_000]],
    ["linear PT1S", "linear", 1_000, [1_000, 2_000, 3_000, 4_000, 5_000]],
  ];
  it.each(cases)("%s", (_name, policy, delay, want) => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, delay, n))).toEqual(want);
  });

  it("no policy (or no delay) means no wait, as in Knative", () => {
    expect(backoffMs(undefined, 500, 3)).toBe(0);
    expect(backoffMs("linear", 0, 3)).toBe(0);
  });

  it("is capped so a large retry count cannot overflow a timer", () => {
    expect(backoffMs("exponential", 500, 200)).toBe(MAX_BACKOFF_MS);
    expect(Number.isFinite(backoffMs("exponential", 500, 5000))).toBe(true);
  });
});

describe("retryable statuses (Knative SelectiveRetry)", () => {
  const table: [number | undefined, boolean][] = [
    [undefined, true], // transport error: no response
    [-1, true],
    [500, true],
    [501, true],
    [502, true],
    [503, true],
    [504, true],
    [599, true],
    [404, true],
    [408, true],
    [409, true],
    [429, true],
    [400, false],
    [401, false],
    [403, false],
    [405, false],
    [410, false],
    [413, false],
    [415, false],
    [422, false],
    [300, false],
    [301, false],
    [302, false],
    [307, false],
    [100, false],
  ];
  it.each(table)("%s -> retry %s", (status, want) => {
    expect(isRetryable(status)).toBe(want);
  });

  it.each([
    [200, true],
    [202, true],
    [204, true],
    [299, true],
    [199, false],
    [300, false],
    [400, false],
  ])("%d success = %s", (status, want) => {
    expect(isSuccess(status)).toBe(want);
  });
});

describe("knativeerror* extensions", () => {
  it("carry the destination, the status and the body in base64", () => {
    const ext = knativeErrorExtensions({ destination: "http://fn.ns.svc.cluster.local", status: 503, body: '{"error":"busy"}' });
    expect(ext).toEqual({
      knativeerrordest: "http://fn.ns.svc.cluster.local",
      knativeerrorcode: 503,
      knativeerrordata: Buffer.from('{"error":"busy"}').toString("base64"),
    });
  });

  it("a transport error is code 500 with 'dispatch error: ...'", () => {
    const ext = knativeErrorExtensions({ destination: "http://x", status: undefined, body: undefined, error: "ECONNREFUSED" });
    expect(ext.knativeerrorcode).toBe(500);
    expect(Buffer.from(ext.knativeerrordata, "base64").toString()).toBe("dispatch error: ECONNREFUSED");
  });

  it("truncate the base64 data to 1024 characters", () => {
    const ext = knativeErrorExtensions({ destination: "http://x", status: 500, body: "x".repeat(5000) });
    expect(ext.knativeerrordata).toHaveLength(KNATIVE_ERROR_DATA_MAX);
    expect(ext.knativeerrordata).toBe(Buffer.from("x".repeat(5000)).toString("base64").slice(0, 1024));
  });

  it("an empty body gives empty data", () => {
    expect(knativeErrorExtensions({ destination: "http://x", status: 400, body: "" }).knativeerrordata).toBe("");
  });
});

describe("resolveDelivery", () => {
  const brokerDefault = {
    retry: 5,
    backoffPolicy: "exponential" as const,
    backoffDelay: "PT0.5S",
    deadLetterSink: { ref: { kind: "Service", name: "dead-letter" } },
  };

  it("uses the broker default when the trigger sets none", () => {
    expect(resolveDelivery(undefined, brokerDefault)).toEqual({
      retry: 5,
      backoffPolicy: "exponential",
      backoffDelayMs: 500,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      deadLetterSink: { ref: { kind: "Service", name: "dead-letter" } },
      format: "binary",
    });
  });

  it("a trigger's delivery replaces the default whole (no field merge), as Knative's trigger reconciler does", () => {
    const d = resolveDelivery({ retry: 1, timeout: "PT2S" }, brokerDefault);
    expect(d).toMatchObject({ retry: 1, timeoutMs: 2_000, backoffPolicy: undefined, backoffDelayMs: 0, deadLetterSink: undefined });
  });

  it("no spec at all: no retries, default timeout", () => {
    expect(resolveDelivery(undefined, undefined)).toMatchObject({ retry: 0, timeoutMs: DEFAULT_TIMEOUT_MS, format: "binary" });
  });

  it("backoff needs both policy and delay", () => {
    expect(resolveDelivery({ retry: 3, backoffDelay: "PT1S" }, undefined).backoffPolicy).toBeUndefined();
    expect(resolveDelivery({ retry: 3, backoffPolicy: "linear" }, undefined).backoffDelayMs).toBe(0);
  });
});

describe("destinationUrl (knativeerrordest)", () => {
  it.each([
    [{ ref: { kind: "Service", name: "log-model" } }, "http://log-model.flywheel.svc.cluster.local"],
    [{ ref: { kind: "Service", name: "log-model", namespace: "ml" } }, "http://log-model.ml.svc.cluster.local"],
    [{ ref: { kind: "Service", name: "fn" }, uri: "/hook?x=1" }, "http://fn.flywheel.svc.cluster.local/hook?x=1"],
    [{ uri: "http://127.0.0.1:9/x" }, "http://127.0.0.1:9/x"],
  ])("%j -> %s", (d, url) => {
    expect(destinationUrl(d, "flywheel")).toBe(url);
  });
});

describe("RFC 3339 times at the ingress", () => {
  it.each([
    ["2026-01-02T03:04:05Z", true],
    ["2026-01-02T03:04:05.123456789Z", true],
    ["2026-01-02T03:04:05+02:00", true],
    ["2026-01-02t03:04:05z", true],
    ["2026-01-02", false],
    ["Jan 2 2026", false],
    ["yesterday", false],
    ["2026-13-02T03:04:05Z", false],
    [1767323045, false],
  ])("%j -> %s", (t, ok) => {
    expect(isRfc3339(t)).toBe(ok);
  });
});
