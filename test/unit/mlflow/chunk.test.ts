import { describe, expect, it } from "vitest";
import { BATCH_LIMITS, chunkBatch, proxyPathOf } from "../../../platform/mlflow/index.ts";

const kv = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ key: `${p}${i}`, value: "v" }));
const ms = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `m${i}`, value: i }));

describe("chunkBatch", () => {
  it.each([
    [0, 0, 0, 0],
    [1000, 0, 0, 1],
    [1001, 0, 0, 2],
    [900, 100, 0, 1],
    [900, 100, 1, 2],
    [0, 250, 0, 3],
    [5000, 300, 300, 6],
  ])("%i metrics, %i params, %i tags -> %i requests within limits", (m, p, t, requests) => {
    const chunks = chunkBatch(ms(m), kv(p, "p"), kv(t, "t"));
    expect(chunks.length).toBe(requests);
    for (const c of chunks) {
      expect(c.metrics.length).toBeLessThanOrEqual(BATCH_LIMITS.metrics);
      expect(c.params.length).toBeLessThanOrEqual(BATCH_LIMITS.params);
      expect(c.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.tags);
      expect(c.metrics.length + c.params.length + c.tags.length).toBeLessThanOrEqual(BATCH_LIMITS.total);
    }
    expect(chunks.flatMap((c) => c.metrics).map((x) => x.key)).toEqual(ms(m).map((x) => x.key));
    expect(chunks.flatMap((c) => c.params).length).toBe(p);
    expect(chunks.flatMap((c) => c.tags).length).toBe(t);
  });
});

describe("proxyPathOf", () => {
  it.each([
    ["mlflow-artifacts:/1/abc/artifacts", "1/abc/artifacts"],
    ["mlflow-artifacts:/1/abc/artifacts/", "1/abc/artifacts"],
    ["mlflow-artifacts://host:5000/1/abc", "1/abc"],
  ])("%s -> %s", (uri, expected) => expect(proxyPathOf(uri)).toBe(expected));

  it("rejects other schemes", () => expect(() => proxyPathOf("s3://b/k")).toThrow(TypeError));
});
