// Unit tests for the Iris example: data set integrity, split, params, protobuf encoding and training quality.
import { describe, expect, it } from "vitest";
import { FEATURES, LABELS, loadIris, parseIris, split } from "../../../examples/iris-node/data.ts";
import { accuracy, forward, train } from "../../../examples/iris-node/model.ts";
import { ProtoWriter } from "../../../examples/iris-node/protobuf.ts";
import { DEFAULT_PARAMS, paramsFromEnv } from "../../../examples/iris-node/train.ts";

describe("iris data", () => {
  const samples = loadIris();
  it("has 150 rows, 50 per class, and the well-known feature means", () => {
    expect(samples).toHaveLength(150);
    for (let c = 0; c < LABELS.length; c++) expect(samples.filter((s) => s.y === c)).toHaveLength(50);
    const means = FEATURES.map((_, j) => samples.reduce((a, s) => a + (s.x[j] ?? 0), 0) / 150);
    [5.843, 3.057, 3.758, 1.199].forEach((m, j) => expect(means[j]).toBeCloseTo(m, 3));
    expect(samples[0]?.x).toEqual([5.1, 3.5, 1.4, 0.2]);
    expect(samples[149]?.x).toEqual([5.9, 3.0, 5.1, 1.8]);
  });

  it.each([
    ["wrong header", "a,b,c,d,species\n1,2,3,4,setosa\n"],
    ["unknown species", "sepal_length,sepal_width,petal_length,petal_width,species\n1,2,3,4,rose\n"],
    ["non-numeric", "sepal_length,sepal_width,petal_length,petal_width,species\n1,x,3,4,setosa\n"],
  ])("rejects a CSV with %s", (_, text) => {
    expect(() => parseIris(text)).toThrow(/iris.csv/);
  });

  it("splits deterministically and stratified by class", () => {
    const a = split(samples, 7);
    const b = split(samples, 7);
    const c = split(samples, 8);
    expect(a).toEqual(b);
    expect(a.test).not.toEqual(c.test);
    expect(a.test).toHaveLength(30);
    expect(a.train).toHaveLength(120);
    for (let k = 0; k < 3; k++) expect(a.test.filter((s) => s.y === k)).toHaveLength(10);
    const trainKeys = new Set(a.train.map((s) => samples.indexOf(s)));
    expect(a.test.some((s) => trainKeys.has(samples.indexOf(s)))).toBe(false);
  });
});

describe("params", () => {
  it.each([
    [{}, DEFAULT_PARAMS],
    [{ FLYWHEEL_PARAMS: '{"epochs": "50", "lr": 0.1}' }, { ...DEFAULT_PARAMS, epochs: 50, lr: 0.1 }],
    [{ FLYWHEEL_PARAMS: '{"epochs": 50}', FLYWHEEL_PARAM_EPOCHS: "60", FLYWHEEL_PARAM_SEED: "3" }, { ...DEFAULT_PARAMS, epochs: 60, seed: 3 }],
  ])("reads %j", (env, expected) => {
    expect(paramsFromEnv(env)).toEqual(expected);
  });

  it.each([{ FLYWHEEL_PARAM_LR: "abc" }, { FLYWHEEL_PARAM_EPOCHS: "0" }, { FLYWHEEL_PARAMS: "{" }])("rejects %j", (env) => {
    expect(() => paramsFromEnv(env)).toThrow();
  });
});

describe("protobuf writer", () => {
  it.each([
    [1, 150, [0x08, 0x96, 0x01]],
    [2, -1, [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    [20, 2, [0xa0, 0x01, 0x02]],
  ])("encodes field %i varint %i", (field, value, bytes) => {
    expect([...new ProtoWriter().int(field, value).finish()]).toEqual(bytes);
  });

  it("encodes strings and nested messages with length prefixes", () => {
    const out = new ProtoWriter().message(7, (m) => m.string(2, "testing")).finish();
    expect([...out]).toEqual([0x3a, 0x09, 0x12, 0x07, ...Buffer.from("testing")]);
  });
});

describe("training", () => {
  it("learns the held-out split to at least 0.9 accuracy, reproducibly", () => {
    const { train: tr, test } = split(loadIris(), 42);
    const opts = { epochs: 200, lr: 0.5, seed: 42, classes: 3 };
    const m1 = train(tr, opts);
    const m2 = train(tr, opts);
    expect(m1).toEqual(m2);
    expect(accuracy(m1, test)).toBeGreaterThanOrEqual(0.9);
    for (const p of forward(m1, test.map((s) => s.x))) expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });
});
