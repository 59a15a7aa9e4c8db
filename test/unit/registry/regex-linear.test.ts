// Registry inputs that made regular expressions backtrack (issue 17 item 1): LIKE patterns, order_by, slash runs.
import { describe, expect, it } from "vitest";
import { compare, parseOrderBy, type FilterSpec } from "../../../platform/registry/filter.ts";
import { likeMatch } from "../../../platform/registry/like.ts";
import { trimSlashes, trimTrailingSlashes } from "../../../platform/slashes.ts";

const RUNS: FilterSpec = { attributes: ["run_name", "status", "start_time"], numericAttributes: ["start_time"], types: ["metric", "param", "tag"] };

// Hang limits, not speed goals: the LIKE regex took 9 minutes on the first case.
const within = (f: () => unknown): void => {
  const started = performance.now();
  f();
  expect(performance.now() - started).toBeLessThan(2_000);
};

describe("regex-free matching of user input", () => {
  it("LIKE with many wildcards does not backtrack", () => {
    within(() => expect(compare("a".repeat(60) + "b", "LIKE", "%a".repeat(30))).toBe(false));
    within(() => expect(compare("a".repeat(8000), "ILIKE", "%A".repeat(4000) + "%")).toBe(true));
  }, 30_000);

  it.each([
    ["abc", "abc", true], ["abc", "a_c", true], ["abc", "a%", true], ["abc", "%c", true], ["abc", "%b%", true],
    ["abc", "%", true], ["", "%", true], ["", "_", false], ["abc", "ab", false], ["abc", "a%b", false],
    ["a.c", "a.c", true], ["abc", "a.c", false], ["a*c", "a*c", true], ["a\nc", "a_c", true], ["aXbXc", "a%b%c", true],
    ["ab", "a%%b", true], ["ab", "%ab%", true], ["abab", "%ab", true], ["aab", "a%ab", true], ["ab", "a%ab", false],
  ])("LIKE %j %j -> %s", (value, pattern, expected) => {
    expect(likeMatch(value, pattern, false)).toBe(expected);
  });

  it("ILIKE ignores case", () => {
    expect(likeMatch("LogisticRegression", "logistic%", true)).toBe(true);
    expect(likeMatch("LogisticRegression", "logistic%", false)).toBe(false);
  });

  it("order_by with a long run of spaces parses within the hang limit", () => {
    within(() => expect(() => parseOrderBy([`metrics.rmse${" ".repeat(50_000)}x DESC`], RUNS)).toThrow(/Invalid order_by/));
    expect(parseOrderBy(["metrics.`rmse` desc", "params.lr"], RUNS).map((t) => t.ascending)).toEqual([false, true]);
  });

  it("slash runs trim in linear time", () => {
    const s = `a${"/".repeat(1_000_000)}b`;
    within(() => expect(trimTrailingSlashes(s)).toBe(s));
    within(() => expect(trimSlashes(`//${s}//`)).toBe(s));
    expect(trimSlashes("///")).toBe("");
  });
});
