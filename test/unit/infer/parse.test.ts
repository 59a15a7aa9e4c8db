// infer's input readers: body classification, CSV, the natural-language parser, request building and decoding.
import { describe, expect, it } from "vitest";
import { buildRequest, InputMismatchError, type ModelInfo } from "../../../functions/infer/build.ts";
import { decodeOutputs, predictedClasses } from "../../../functions/infer/decode.ts";
import { parseBody, parseCsv, parseCsvPaced } from "../../../functions/infer/input.ts";
import { featureSchema } from "../../../functions/infer/llm.ts";
import { parseNaturalLanguage } from "../../../functions/infer/nl.ts";
import { UnsupportedMediaTypeError, ValidationError } from "../../../platform/errors.ts";

const IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
const info: ModelInfo = {
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [
    { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
    { name: "label", datatype: "INT64", shape: [-1] },
  ],
  columns: IRIS,
  labels: ["setosa", "versicolor", "virginica"],
};

describe("natural language parser", () => {
  it.each([
    ["predict iris: sepal length 5.1, sepal width 3.5, petal length 1.4, petal width 0.2", [5.1, 3.5, 1.4, 0.2]],
    ["SEPAL_LENGTH=6.7 sepal-width: 3.0; PetalLength 5.2 and petal width is 2.3", [6.7, 3.0, 5.2, 2.3]],
    ["petal width 0.2, petal length 1.4, sepal width 3.5, sepal length 5.1", [5.1, 3.5, 1.4, 0.2]],
    ["what is it with sepal length of 5 and sepal width 3 petal length .5 petal width 1e-1", [5, 3, 0.5, 0.1]],
  ])("reads %j", (text, values) => {
    const r = parseNaturalLanguage(text, IRIS);
    expect(r.missing).toEqual([]);
    expect(IRIS.map((n) => r.record[n])).toEqual(values);
  });

  it("reports missing and unknown names", () => {
    const r = parseNaturalLanguage("sepal length 5.1, colour 3", IRIS);
    expect(r.missing).toEqual(["sepal_width", "petal_length", "petal_width"]);
    expect(r.unknown).toEqual(["colour"]);
  });

  it("does not confuse a name with a longer one that ends like it", () => {
    const r = parseNaturalLanguage("width 1, petal width 2", ["width", "petal_width"]);
    expect(r.record).toEqual({ width: 1, petal_width: 2 });
  });
});

describe("body classification", () => {
  it.each([
    ["application/json", '{"sepal_length": 1}', "records"],
    ["application/json", '[{"a": 1}, {"a": 2}]', "records"],
    ["application/json", '{"records": [{"a": 1}]}', "records"],
    ["application/json", '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}', "v2"],
    ["application/json", '{"text": "sepal length 1"}', "text"],
    ["text/plain; charset=utf-8", "sepal length 1", "text"],
    ["text/csv", "a,b\n1,2\n", "records"],
  ])("%s %s -> %s", (ct, body, kind) => {
    expect(parseBody(ct, body).kind).toBe(kind);
  });

  it.each([
    ["application/json", "{", ValidationError, /not valid JSON/],
    ["application/json", "[]", ValidationError, /empty/],
    ["application/json", "[1, 2]", ValidationError, /must be a JSON object/],
    ["application/json", "42", ValidationError, /send a JSON object/],
    ["application/json", '{"inputs": [{"name": "x"}]}', ValidationError, /body.inputs.0.shape/],
    ["text/plain", "  ", ValidationError, /empty/],
    ["application/xml", "<a/>", UnsupportedMediaTypeError, /not accepted/],
  ])("rejects %s %s", (ct, body, cls, msg) => {
    expect(() => parseBody(ct, body)).toThrow(cls);
    expect(() => parseBody(ct, body)).toThrow(msg);
  });

  it("parses quoted CSV with CRLF and rejects ragged rows", () => {
    expect(parseCsv('name,note\r\n"a, b","say ""hi"""\r\n')).toEqual([{ name: "a, b", note: 'say "hi"' }]);
    expect(() => parseCsv("a,b\n1\n")).toThrow(/has 1 fields, the header has 2/);
    expect(() => parseCsv("a,b\n")).toThrow(/at least one data row/);
  });
});

describe("request building", () => {
  it("builds one [n, 4] FP32 tensor in signature order, tolerant to key spelling", () => {
    const { request, features } = buildRequest(
      [
        { "Petal Width": 0.2, sepal_length: 5.1, SepalWidth: "3.5", petal_length: 1.4 },
        { sepal_length: 6.7, sepal_width: 3, petal_length: 5.2, petal_width: 2.3 },
      ],
      info,
      "id-1",
    );
    expect(request).toEqual({ id: "id-1", inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: [5.1, 3.5, 1.4, 0.2, 6.7, 3, 5.2, 2.3] }] });
    expect(features.sepal_width).toEqual([3.5, 3]);
  });

  it("builds one tensor per input for column-per-input models", () => {
    const perColumn: ModelInfo = { inputs: [{ name: "age", datatype: "INT64", shape: [-1] }, { name: "city", datatype: "BYTES", shape: [-1, 1] }], outputs: [], columns: undefined, labels: undefined };
    expect(buildRequest([{ age: 3, city: "Oslo" }], perColumn).request.inputs).toEqual([
      { name: "age", shape: [1], datatype: "INT64", data: [3] },
      { name: "city", shape: [1, 1], datatype: "BYTES", data: ["Oslo"] },
    ]);
  });

  it("refuses keys that are Object.prototype members (toString, __proto__) as unknown inputs, not a crash", () => {
    for (const rec of [{ toString: 1 }, JSON.parse('{"__proto__": 1}') as Record<string, unknown>, { constructor: "5.1", hasOwnProperty: 2 }]) {
      expect(() => buildRequest([rec], info)).toThrow(InputMismatchError);
    }
  });

  it("lists expected inputs and every problem", () => {
    const err = (() => {
      try {
        buildRequest([{ sepal_length: "x", colour: 1 }], info);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputMismatchError);
    const m = err as InputMismatchError;
    expect(m.expected.map((e) => e.name)).toEqual(IRIS);
    expect(m.issues.map((i) => i.field)).toEqual(["records[0].sepal_length", "records[0].colour", "records[0].sepal_width", "records[0].petal_length", "records[0].petal_width"]);
    expect(m.message).toMatch(/^expected inputs: sepal_length \(FP32\), sepal_width \(FP32\)/);
  });
});

describe("decoding", () => {
  const response = {
    model_name: "iris",
    id: "1",
    outputs: [
      { name: "probabilities", datatype: "FP32" as const, shape: [2, 3], data: [0.9, 0.05, 0.05, 0.1, 0.2, 0.7] },
      { name: "label", datatype: "INT64" as const, shape: [2], data: [0, 2] },
    ],
  };
  it("maps class indices to labels and probabilities to a label map", () => {
    expect(decodeOutputs(response, info.labels)).toEqual([
      { probabilities: { setosa: 0.9, versicolor: 0.05, virginica: 0.05 }, label: "setosa" },
      { probabilities: { setosa: 0.1, versicolor: 0.2, virginica: 0.7 }, label: "virginica" },
    ]);
    expect(predictedClasses(response, info.labels)).toEqual(["setosa", "virginica"]);
  });
  it("keeps plain numbers without labels and nests multi-dim outputs", () => {
    expect(decodeOutputs(response, undefined)).toEqual([
      { probabilities: [0.9, 0.05, 0.05], label: 0 },
      { probabilities: [0.1, 0.2, 0.7], label: 2 },
    ]);
    expect(predictedClasses({ ...response, outputs: response.outputs.slice(0, 1) }, undefined)).toEqual([0, 2]);
  });
});

describe("LLM schema", () => {
  it("requires every feature as a number and nothing else", () => {
    expect(featureSchema(["a", "b"])).toEqual({ type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"], additionalProperties: false });
  });
});

describe("CSV row cap (parseCsvPaced)", () => {
  const body = (rows: number, line = "1,2"): string => `a,b\n${`${line}\n`.repeat(rows)}`;
  it("accepts exactly the cap, with blank lines and a quoted field not counted as rows", async () => {
    expect(await parseCsvPaced(body(3), 3)).toHaveLength(3);
    expect(await parseCsvPaced(`a,b\n1,2\n\n , \n3,4\n,\n5,6\n`, 3)).toHaveLength(3);
    expect(await parseCsvPaced(`a,b\n"x\ny",2\n3,4\n5,6\n`, 3)).toEqual([{ a: "x\ny", b: "2" }, { a: "3", b: "4" }, { a: "5", b: "6" }]);
  });
  it.each([
    ["quote-free", body(4)],
    ["with quotes", body(4, '"1",2')],
    ["far over the cap", body(50_000)],
  ])("refuses %s CSV over the cap with a 400 naming body and the limit", async (_name, text) => {
    await expect(parseCsvPaced(text, 3)).rejects.toThrow(/body: has more than 3 rows; at most 3 rows per request \(FLYWHEEL_INFER_MAX_ROWS\)/);
  });
});
