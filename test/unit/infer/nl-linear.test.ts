// The natural-language parser stays linear on hostile text (issue 17 item 1: the old pair regex was quadratic).
import { describe, expect, it } from "vitest";
import { parseNaturalLanguage } from "../../../functions/infer/nl.ts";

const IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

describe("natural language parser on long text", () => {
  // A hang limit, not a speed goal: the quadratic regex took 38 s on 20,000 words and would take minutes here.
  it.each([
    ["words without a number", "sepal ".repeat(100_000)],
    ["one long label before a number", `${"a".repeat(500_000)} 5`],
    ["labels broken by punctuation", "a,".repeat(200_000)],
    ["words then pairs", `${"word ".repeat(100_000)}sepal length 5.1 sepal width 3.5 petal length 1.4 petal width 0.2`],
  ])("%s parse within the hang limit", (_name, text) => {
    const started = performance.now();
    parseNaturalLanguage(text, IRIS);
    expect(performance.now() - started).toBeLessThan(2_000);
  }, 30_000);

  it("considers only the first words of a huge text", () => {
    const r = parseNaturalLanguage(`sepal length 5.1 ${"x ".repeat(100_000)} petal width 0.2`, IRIS);
    expect(r.record).toEqual({ sepal_length: 5.1 });
    expect(r.missing).toContain("petal_width");
  });
});
