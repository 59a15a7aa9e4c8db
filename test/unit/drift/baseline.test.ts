// baseline.json parsing: the documented format loads, and each kind of mistake is a ValidationError naming its field.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { parseBaseline } from "../../../platform/drift/baseline.ts";

const good = {
  version: 1,
  features: {
    sepal_length: { type: "numeric", edges: [4.3, 5, 6, 7.9], counts: [10, 20, 10] },
    colour: { type: "categorical", frequencies: { red: 3, blue: 1 } },
  },
  predictions: { type: "categorical", frequencies: { setosa: 0.33, versicolor: 0.34, virginica: 0.33 } },
  rows: 150,
};

function issues(input: unknown): string[] {
  try {
    parseBaseline(input);
  } catch (e) {
    if (e instanceof ValidationError) return e.issues.map((i) => `${i.field}: ${i.message}`);
    throw e;
  }
  return [];
}

describe("parseBaseline", () => {
  it("reads the documented format and normalises counts and frequencies", () => {
    const b = parseBaseline(JSON.stringify(good));
    expect(b.features.sepal_length).toEqual({ type: "numeric", edges: [4.3, 5, 6, 7.9], proportions: [0.25, 0.5, 0.25] });
    expect(b.features.colour).toEqual({ type: "categorical", categories: ["red", "blue"], proportions: [0.75, 0.25] });
    expect(b.predictions?.categories).toEqual(["setosa", "versicolor", "virginica"]);
    expect(b.rows).toBe(150);
  });

  it.each([
    { name: "not JSON", input: "{", field: "baseline" },
    { name: "wrong version", input: { ...good, version: 2 }, field: "baseline.version" },
    { name: "unknown feature type", input: { version: 1, features: { a: { type: "text" } } }, field: "baseline.features.a.type" },
    {
      name: "edges length",
      input: { version: 1, features: { a: { type: "numeric", edges: [0, 1], counts: [1, 2] } } },
      field: "baseline.features.a.edges",
    },
    {
      name: "edges not increasing",
      input: { version: 1, features: { a: { type: "numeric", edges: [0, 2, 1], counts: [1, 2] } } },
      field: "baseline.features.a.edges.2",
    },
    {
      name: "negative count",
      input: { version: 1, features: { a: { type: "numeric", edges: [0, 1, 2], counts: [1, -2] } } },
      field: "baseline.features.a.counts.1",
    },
    {
      name: "all-zero counts",
      input: { version: 1, features: { a: { type: "numeric", edges: [0, 1, 2], counts: [0, 0] } } },
      field: "baseline.features.a.counts",
    },
    {
      name: "empty frequencies",
      input: { version: 1, features: { c: { type: "categorical", frequencies: {} } } },
      field: "baseline.features.c.frequencies",
    },
    { name: "unknown top-level key", input: { ...good, extra: true }, field: "baseline" },
    { name: "missing features", input: { version: 1 }, field: "baseline.features" },
  ])("$name -> names $field", ({ input, field }) => {
    const found = issues(input);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((i) => i.startsWith(`${field}:`))).toBe(true);
  });
});
