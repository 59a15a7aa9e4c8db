// The model session adapter: onnxruntime-node's binding called directly gives what the public InferenceSession API gives
// (metadata, outputs on random inputs, load errors), and any other binding shape falls back to the public API.
import fc from "fast-check";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";
import { nativeBindingOf, openSession, valueMetadata, type FeedTensor, type ModelSession, type OutputTensor } from "../../../platform/serving/local/ort-session.ts";
import { onnxModel, scaleModel } from "./onnx-fixtures.ts";

/** Floats in, scaled, softmaxed and arg-maxed out (float and int64 outputs, symbolic batch). */
const classify = onnxModel({
  inputs: [{ name: "x", type: "float", dims: ["batch", 3] }],
  outputs: [
    { name: "y", type: "float", dims: ["batch", 3] },
    { name: "p", type: "float", dims: ["batch", 3] },
    { name: "label", type: "int64", dims: ["batch"] },
  ],
  nodes: [
    { op: "Mul", inputs: ["x", "k"], outputs: ["y"] },
    { op: "Softmax", inputs: ["x"], outputs: ["p"], ints: { axis: 1 } },
    { op: "ArgMax", inputs: ["x"], outputs: ["label"], ints: { axis: 1, keepdims: 0 } },
  ],
  initializers: [{ name: "k", dims: [1], values: [1.5] }],
});

/** Each other datatype through an Identity: int64, double, string, bool. */
const identities = onnxModel({
  inputs: [
    { name: "i", type: "int64", dims: ["n", 2] },
    { name: "d", type: "double", dims: ["n"] },
    { name: "s", type: "string", dims: ["n"] },
    { name: "b", type: "bool", dims: ["n"] },
  ],
  outputs: [
    { name: "io", type: "int64", dims: ["n", 2] },
    { name: "do", type: "double", dims: ["n"] },
    { name: "so", type: "string", dims: ["n"] },
    { name: "bo", type: "bool", dims: ["n"] },
  ],
  nodes: [
    { op: "Identity", inputs: ["i"], outputs: ["io"] },
    { op: "Identity", inputs: ["d"], outputs: ["do"] },
    { op: "Identity", inputs: ["s"], outputs: ["so"] },
    { op: "Identity", inputs: ["b"], outputs: ["bo"] },
  ],
});

const plain = (outs: Record<string, OutputTensor>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(outs).map(([k, t]) => [k, { type: t.type, dims: [...t.dims], data: Array.from<unknown>(t.data) }]));

const realBinding = async (): Promise<unknown> => import("onnxruntime-node/dist/binding.js");

describe("model sessions: the native binding against the public API", () => {
  const sessions: ModelSession[] = [];
  const open = async (model: Uint8Array, publicOnly: boolean): Promise<ModelSession> => {
    const s = await openSession(model, { publicOnly });
    sessions.push(s);
    return s;
  };
  let native: { classify: ModelSession; identities: ModelSession };
  let pub: { classify: ModelSession; identities: ModelSession };
  beforeAll(async () => {
    native = { classify: await open(classify, false), identities: await open(identities, false) };
    pub = { classify: await open(classify, true), identities: await open(identities, true) };
  });
  afterAll(async () => {
    for (const s of sessions) await s.release();
  });

  it("uses the binding directly with this onnxruntime-node, with the public API's metadata", () => {
    expect([native.classify.path, native.identities.path, pub.classify.path]).toEqual(["native", "native", "public"]);
    for (const m of ["classify", "identities"] as const) {
      expect(native[m].inputMetadata).toEqual(pub[m].inputMetadata);
      expect(native[m].outputMetadata).toEqual(pub[m].outputMetadata);
    }
    expect(native.classify.outputMetadata[2]).toEqual({ name: "label", isTensor: true, type: "int64", shape: ["batch"] });
  });

  it("gives the public API's outputs on random inputs of every kind (NaN, infinities, -0, int64 extremes, unicode)", async () => {
    const rows = fc.integer({ min: 0, max: 4 });
    const floats = rows.chain((n) => fc.tuple(fc.constant(n), fc.array(fc.float(), { minLength: n * 3, maxLength: n * 3 })));
    const others = rows.chain((n) =>
      fc.record({
        n: fc.constant(n),
        i: fc.array(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, 0n, -1n)), { minLength: 2 * n, maxLength: 2 * n }),
        d: fc.array(fc.double(), { minLength: n, maxLength: n }),
        s: fc.array(fc.oneof(fc.string({ unit: "grapheme", maxLength: 6 }), fc.constantFrom("", " a ", "日本語", "e\u0301", "tab\t", "😀")), { minLength: n, maxLength: n }),
        b: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        outputs: fc.subarray(["io", "do", "so", "bo"], { minLength: 1 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(floats, fc.subarray(["y", "p", "label"], { minLength: 1 }), others, async ([n, x], outputs, o) => {
        const f: Record<string, FeedTensor> = { x: { type: "float32", dims: [n, 3], data: Float32Array.from(x) } };
        expect(plain(await native.classify.run(f, outputs))).toEqual(plain(await pub.classify.run(f, outputs)));
        const g: Record<string, FeedTensor> = {
          i: { type: "int64", dims: [o.n, 2], data: BigInt64Array.from(o.i) },
          d: { type: "float64", dims: [o.n], data: Float64Array.from(o.d) },
          s: { type: "string", dims: [o.n], data: o.s },
          b: { type: "bool", dims: [o.n], data: Uint8Array.from(o.b, Number) },
        };
        const got = plain(await native.identities.run(g, o.outputs));
        expect(got).toEqual(plain(await pub.identities.run(g, o.outputs)));
        expect(Object.keys(got)).toEqual(o.outputs);
      }),
      { numRuns: 150 },
    );
  });

  it("fails a run the way the public API does: a rejected promise, not a throw", async () => {
    const bad: Record<string, FeedTensor> = { x: { type: "float32", dims: [1, 3], data: new Float32Array(2) } };
    await expect(native.classify.run(bad, ["y"])).rejects.toThrow();
    await expect(pub.classify.run(bad, ["y"])).rejects.toThrow();
  });

  it("gives the public API's error for a model neither can load", async () => {
    const garbage = new Uint8Array([8, 1, 18, 3, 1, 2]);
    const publicError = await openSession(garbage, { publicOnly: true }).then(() => "loaded", (e: unknown) => String(e));
    expect(publicError).not.toBe("loaded");
    await expect(openSession(garbage).then(() => "loaded", (e: unknown) => String(e))).resolves.toBe(publicError);
  });
});

describe("model sessions: another binding shape falls back to the public API", () => {
  it("accepts the binding module as imported, named or as a default only, and nothing else", async () => {
    const mod = await realBinding();
    expect(nativeBindingOf(mod)).toBeDefined();
    expect(nativeBindingOf({ default: mod })).toBeDefined();
    const real = nativeBindingOf(mod);
    if (!real) throw new Error("unreachable");
    class NoRun {
      loadModel(): void {}
      dispose(): void {}
    }
    for (const odd of [undefined, null, {}, { initOrt: real.initOrt }, { initOrt: real.initOrt, binding: {} }, { initOrt: real.initOrt, binding: { InferenceSession: NoRun } }, { binding: real.binding }]) {
      expect(nativeBindingOf(odd)).toBeUndefined();
    }
  });

  it("reads only the metadata shape it knows", () => {
    const t = { name: "x", isTensor: true, type: 1, shape: [-1, 4], symbolicDimensions: ["batch", ""] };
    expect(valueMetadata([t, { name: "m", isTensor: false }])).toEqual([
      { name: "x", isTensor: true, type: "float32", shape: ["batch", 4] },
      { name: "m", isTensor: false },
    ]);
    for (const odd of [undefined, {}, [{ ...t, type: 99 }], [{ ...t, type: "float32" }], [{ ...t, shape: [-2, 4] }], [{ ...t, symbolicDimensions: undefined }], [{ ...t, name: 1 }]]) {
      expect(valueMetadata(odd)).toBeUndefined();
    }
  });

  it("serves through the public API, and frees the native session, when the binding's sessions are not as expected", async () => {
    const found = nativeBindingOf(await realBinding());
    if (!found) throw new Error("the installed onnxruntime-node binding is not as expected");
    const real = found;
    let disposed = 0;
    // A binding of another version: it loads and runs, but describes its inputs otherwise.
    class OtherSession {
      readonly #s = new real.binding.InferenceSession();
      loadModel(...args: unknown[]): void {
        Reflect.apply(this.#s.loadModel, this.#s, args);
      }
      get inputMetadata(): unknown {
        return [{ name: "x", dtype: "float32" }];
      }
      get outputMetadata(): unknown {
        return this.#s.outputMetadata;
      }
      run(feeds: object, fetches: object, options: object): unknown {
        return this.#s.run(feeds, fetches, options);
      }
      dispose(): void {
        disposed++;
      }
    }
    // A binding whose loadModel takes other arguments.
    class ThrowingSession extends OtherSession {
      override loadModel(): void {
        throw new TypeError("unexpected arguments");
      }
    }
    for (const [InferenceSession, frees] of [[OtherSession, 1], [ThrowingSession, 0]] as const) {
      disposed = 0;
      const s = await openSession(scaleModel(2), { bindingModule: { initOrt: real.initOrt, binding: { InferenceSession } } });
      expect(s.path).toBe("public");
      expect(disposed).toBe(frees);
      const out = await s.run({ x: { type: "float32", dims: [1, 2], data: Float32Array.from([1, 2]) } }, ["y"]);
      expect(plain(out)).toEqual({ y: { type: "float32", dims: [1, 2], data: [2, 4] } });
      await s.release();
    }
  });

  it("answers V2 requests alike on either path (the public one stays served)", async () => {
    const server = new EmbeddedV2Server({ registry: new Registry(), batching: { maxBatchSize: 4, maxBatchTimeMs: 1 } });
    try {
      await server.loadModel({ name: "n", version: "1", model: classify });
      await server.loadModel({ name: "p", version: "1", model: classify, publicApi: true });
      expect([server.models.get("n")?.runtimePath, server.models.get("p")?.runtimePath]).toEqual(["native", "public"]);
      const req = (i: number): Parameters<EmbeddedV2Server["infer"]>[2] => ({ id: "r", inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [i, -i, 0.5] }] });
      // Concurrent, so the batcher merges them on both paths.
      const answers = async (name: string): Promise<unknown[]> => Promise.all([1, 2, 3, 4].map(async (i) => (await server.infer(name, undefined, req(i))).response.outputs));
      expect(await answers("n")).toEqual(await answers("p"));
    } finally {
      await server.close();
    }
  });
});
