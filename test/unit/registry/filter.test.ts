import { describe, expect, it } from "vitest";
import { matches, parseFilter, parseOrderBy, type FilterSpec, type Lookup } from "../../../platform/registry/filter.ts";
import { MlflowApiError } from "../../../platform/registry/errors.ts";
import { likeToGlob } from "../../../platform/registry/sql-search.ts";

const RUNS: FilterSpec = { attributes: ["run_name", "status", "start_time"], numericAttributes: ["start_time"], types: ["metric", "param", "tag"] };

const entity: Record<string, Record<string, string | number>> = {
  metric: { rmse: 0.5, acc: 0.9 },
  param: { lr: "0.1", model: "LogisticRegression" },
  tag: { "flywheel.event_id": "abc", "user-name": "Tomas" },
  attribute: { run_name: "bold-fox-1", status: "FINISHED", start_time: 1000 },
};
const lookup: Lookup = (type, key) => entity[type]?.[key];

describe("parseFilter + matches", () => {
  it.each([
    ["metrics.rmse < 1", true],
    ["metrics.rmse < 0.5", false],
    ["metrics.rmse <= 0.5", true],
    ["metrics.acc >= 0.9 and params.lr = '0.1'", true],
    ["metrics.acc > 0.9", false],
    ["params.lr != '0.1'", false],
    ["params.model LIKE 'Logistic%'", true],
    ["params.model LIKE 'logistic%'", false],
    ["params.model ILIKE 'logistic%'", true],
    ["params.model LIKE 'Logistic_egression'", true],
    ["tags.`flywheel.event_id` = 'abc'", true],
    ["tags.flywheel.event_id = 'abc'", true],
    ['tags."user-name" = "Tomas"', true],
    ["attributes.status = 'FINISHED'", true],
    ["status != 'FINISHED'", false],
    ["run_name LIKE '%fox%'", true],
    ["attributes.start_time > 999", true],
    ["attributes.status IN ('RUNNING', 'FINISHED')", true],
    ["attributes.status NOT IN ('FINISHED')", false],
    ["metrics.missing > 0", false],
    ["tags.missing != 'x'", false],
    ["metric.rmse = 0.5 AND param.lr = '0.1' AND tag.`user-name` = 'Tomas'", true],
  ])("%s -> %s", (filter, expected) => {
    expect(matches(parseFilter(filter, RUNS), lookup)).toBe(expected);
  });

  it.each([
    ["metrics.rmse < '1'", /numeric value/],
    ["params.lr < '1'", /Invalid comparator/],
    ["params.lr = 1", /quoted string/],
    ["bogus = 'x'", /Invalid attribute key/],
    ["metrics.rmse < 1 or metrics.acc > 0", /AND/],
    ["params.lr = 'unterminated", /unterminated/],
    ["params.lr", /comparator/],
  ])("rejects %s with INVALID_PARAMETER_VALUE", (filter, message) => {
    let caught: unknown;
    try {
      parseFilter(filter, RUNS);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MlflowApiError);
    if (caught instanceof MlflowApiError) {
      expect(caught.errorCode).toBe("INVALID_PARAMETER_VALUE");
      expect(caught.status).toBe(400);
      expect(caught.message).toMatch(message);
    }
  });

  it("rejects IN without a parenthesised list with BAD_REQUEST, as MLflow's SQL layer does", () => {
    let caught: unknown;
    try {
      parseFilter("attributes.status IN 'x'", RUNS);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MlflowApiError);
    if (caught instanceof MlflowApiError) expect([caught.errorCode, caught.status]).toEqual(["BAD_REQUEST", 400]);
  });

  it("an empty filter matches everything", () => {
    expect(parseFilter("  ", RUNS)).toEqual([]);
  });
});

describe("parseOrderBy", () => {
  it("parses direction, prefixes and quoted keys", () => {
    expect(parseOrderBy(["metrics.`rmse` DESC", "params.lr", "start_time asc"], RUNS)).toEqual([
      { type: "metric", key: "rmse", ascending: false },
      { type: "param", key: "lr", ascending: true },
      { type: "attribute", key: "start_time", ascending: true },
    ]);
  });
});

describe("likeToGlob (MLflow's case-sensitive LIKE as SQLite GLOB)", () => {
  it.each([
    ["run-%", "run-*"],
    ["a_c", "a?c"],
    ["100*%", "100[*]*"],
    ["what?", "what[?]"],
    ["[x]%", "[[]x]*"],
    ["back\\slash%", "back\\slash*"],
  ])("%s -> %s", (like, glob) => {
    expect(likeToGlob(like)).toBe(glob);
  });
});
