// The V2 fast paths (plainInferRequest before zod, floatFeed before generalFeed) against the general path on random
// bodies, valid and invalid: where the fast path answers it gives the general path's value, else the general path runs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseInferRequest } from "../../../platform/serving/local/routes.ts";
import { floatFeed, generalFeed, toFeed, type Feed } from "../../../platform/serving/local/ort-bridge.ts";
import { TensorError } from "../../../platform/serving/v2/tensor.ts";
import { plainInferRequest } from "../../../platform/serving/v2/fast.ts";
import { V2_DATATYPES, type RequestInput, type TensorMetadata } from "../../../platform/serving/v2/types.ts";
import { ValidationError } from "../../../platform/errors.ts";

/** Mostly absent: most bodies keep the common shape, some break it. */
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>): fc.Arbitrary<T | U> => fc.oneof({ weight: 8, arbitrary: good }, { weight: 1, arbitrary: bad });
const scalar = fc.oneof(fc.double(), fc.integer({ min: -300, max: 300 }), fc.constantFrom(0, 1, -0, 0.5, 2 ** 53, "1.5", "7", " ", "", true, null));
const values = fc.oneof(fc.array(mostly(fc.double(), scalar), { maxLength: 8 }), fc.array(fc.array(scalar, { maxLength: 3 }), { maxLength: 3 }));
const dim = fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 2 ** 53, "2", null) });
const datatype = mostly(fc.constantFrom(...V2_DATATYPES), fc.constantFrom("FLOAT", "fp32", 3));

/** An input object, usually well-formed and sometimes not (missing or extra keys, wrong types). */
const anyInput = fc
  .record({
    name: mostly(fc.constantFrom("x", "input"), fc.constantFrom("", 7)),
    shape: mostly(fc.array(dim, { maxLength: 3 }), fc.constant("2,2")),
    datatype,
    data: mostly(values, fc.constant({})),
    parameters: maybe(fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 })),
    extra: maybe(fc.constant(1)),
    drop: maybe(fc.constantFrom("name", "shape", "datatype", "data")),
  })
  .map(({ extra, drop, parameters, ...input }) => {
    const out: Record<string, unknown> = { ...input };
    if (parameters) out["parameters"] = parameters;
    if (extra !== undefined) out["extra"] = extra;
    if (drop) delete out[drop];
    return out;
  });

const anyBody = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ id: maybe(mostly(fc.string(), fc.integer())), inputs: mostly(fc.array(anyInput, { minLength: 1, maxLength: 2 }), fc.constant([])), outputs: maybe(fc.constant([{ name: "y" }])), parameters: maybe(fc.constant({ a: 1 })) })
      // Absent keys, as in a parsed body (not present with the value undefined).
      .map((b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined))),
  },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.array(fc.integer()), fc.string(), fc.constant({}), fc.constant({ inputs: "x" }), fc.constant(JSON.parse('{"__proto__": {"a": 1}, "inputs": []}'))) },
);

type Outcome = { ok: unknown } | { error: string };
function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof ValidationError) return { error: JSON.stringify(e.issues) };
    if (e instanceof TensorError) return { error: `${e.field}: ${e.message}` };
    throw e;
  }
}

describe("plainInferRequest (before zod)", () => {
  it("accepts only bodies the schema accepts, with the schema's value; the route's outcome is the general one", () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyBody, (body) => {
        const fast = plainInferRequest(body);
        const general = outcome(() => parseInferRequest(body));
        if (fast !== undefined) {
          accepted++;
          expect(general).toEqual({ ok: fast });
        }
        expect(outcome(() => plainInferRequest(body) ?? parseInferRequest(body))).toEqual(general);
      }),
      { numRuns: 3000 },
    );
    // The property above holds trivially for a fast path that never answers: it must answer the common shape.
    expect(accepted).toBeGreaterThan(100);
    expect(plainInferRequest({ id: "r", inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2] }] })).toBeDefined();
  });
});

/** An input (already past the schema) and the model's input metadata, mostly agreeing, sometimes not. */
const inputAndMeta: fc.Arbitrary<[RequestInput, TensorMetadata]> = fc
  .record({
    shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    datatype: mostly(fc.constantFrom<RequestInput["datatype"]>("FP32", "FP64"), fc.constantFrom(...V2_DATATYPES)),
    metaType: mostly(fc.constantFrom<TensorMetadata["datatype"]>("FP32", "FP64"), fc.constantFrom(...V2_DATATYPES)),
    metaShape: mostly(fc.constant(undefined), fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 })),
    free: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    nested: fc.boolean(),
    off: mostly(fc.constant(0), fc.constantFrom(1, -1)),
  })
  .chain(({ shape, datatype, metaType, metaShape, free, nested, off }) => {
    const count = Math.max(0, shape.reduce((a, b) => a * b, 1) + off);
    const element = mostly(fc.oneof(fc.double({ noNaN: true }), fc.integer({ min: -200, max: 200 })), scalar);
    const row = shape[1] ?? 1;
    return fc.array(element, { minLength: count, maxLength: count }).map((flat): [RequestInput, TensorMetadata] => {
      const data = nested && shape.length === 2 && row > 0 ? Array.from({ length: Math.ceil(flat.length / row) }, (_, i) => flat.slice(i * row, (i + 1) * row)) : flat;
      const mshape = metaShape ?? shape.map((d, i) => (free[i] ? -1 : d));
      return [{ name: "x", shape, datatype, data }, { name: "x", datatype: metaType, shape: mshape }];
    });
  });

/** A feed as comparable plain data: the typed array's kind and elements. */
const plainFeed = (f: Feed): unknown => ({ ...f, data: { kind: f.data.constructor.name, values: Array.from<unknown>(f.data) } });

describe("floatFeed (before generalFeed)", () => {
  it("gives generalFeed's feed wherever it answers, and toFeed's outcome is generalFeed's on any input", () => {
    let fast = 0;
    fc.assert(
      fc.property(inputAndMeta, ([i, m]) => {
        const general = outcome(() => plainFeed(generalFeed(i, m, "inputs[0]")));
        const f = floatFeed(i, m);
        if (f) {
          fast++;
          expect(general).toEqual({ ok: plainFeed(f) });
        }
        expect(outcome(() => plainFeed(toFeed(i, m, "inputs[0]")))).toEqual(general);
      }),
      { numRuns: 3000 },
    );
    expect(fast).toBeGreaterThan(100);
  });
});

describe("conversion to an integer model input", () => {
  // Found by the property above (seed -718990044): BigInt(-Infinity) threw a RangeError, a 500 instead of a 400.
  it.each(["INT64", "INT32"] as const)("refuses a value with no integer value for %s, naming the element", (to) => {
    const input: RequestInput = { name: "x", shape: [1, 3], datatype: "FP64", data: [1, 2, Number.NEGATIVE_INFINITY] };
    const meta: TensorMetadata = { name: "x", datatype: to, shape: [-1, 3] };
    expect(() => generalFeed(input, meta, "inputs[0]")).toThrow(TensorError);
    expect(() => toFeed(input, meta, "inputs[0]")).toThrow(expect.objectContaining({ field: "inputs[0].data[2]", message: expect.stringMatching(/not a finite number/) }));
    expect(generalFeed({ ...input, data: [1, 2, 3.7] }, meta, "inputs[0]").data).toEqual(to === "INT64" ? new BigInt64Array([1n, 2n, 3n]) : new Int32Array([1, 2, 3]));
  });
});
