// Trigger filters: every Subscriptions API dialect, nesting, the legacy attributes filter and its "" presence rule.
import { CloudEvent } from "cloudevents";
import { describe, expect, it } from "vitest";
import {
  attributesOf,
  matchesAttributes,
  matchesFilter,
  triggerMatches,
  type SubscriptionsApiFilter,
} from "../../../platform/eventing/filters.ts";

const event = new CloudEvent<unknown>({
  specversion: "1.0",
  id: "abc-123",
  source: "/flywheel/functions/launch-training",
  type: "dev.flywheel.training.succeeded",
  subject: "iris",
  datacontenttype: "application/json",
  data: { type: "not-an-attribute", model: "iris" },
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  model: "iris",
  emptyext: "",
});
const attrs = attributesOf(event);

describe("attributesOf", () => {
  it("has context attributes and extensions, never data", () => {
    expect(attrs.type).toBe("dev.flywheel.training.succeeded");
    expect(attrs.subject).toBe("iris");
    expect(attrs.model).toBe("iris");
    expect(attrs.traceparent).toMatch(/^00-/);
    expect(attrs.data).toBeUndefined();
    expect(Object.values(attrs)).not.toContain("not-an-attribute");
  });
});

describe("filter.attributes (exact; \"\" = present with a non-empty value)", () => {
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ["no filter matches all", undefined, true],
    ["empty map matches all", {}, true],
    ["exact type", { type: "dev.flywheel.training.succeeded" }, true],
    ["exact type and source", { type: "dev.flywheel.training.succeeded", source: "/flywheel/functions/launch-training" }, true],
    ["one of two differs", { type: "dev.flywheel.training.succeeded", source: "/other" }, false],
    ["case-sensitive", { type: "dev.flywheel.Training.succeeded" }, false],
    ["prefix is not enough", { type: "dev.flywheel.training" }, false],
    ["extension exact", { model: "iris" }, true],
    ["extension differs", { model: "wine" }, false],
    ["\"\" on a present attribute", { subject: "" }, true],
    ["\"\" on a present extension", { model: "" }, true],
    ["\"\" on a missing attribute", { dataschema: "" }, false],
    ["\"\" on a present but empty extension", { emptyext: "" }, false],
    ["missing attribute with a value", { partitionkey: "x" }, false],
    ["data fields are not attributes", { model: "iris", data: "" }, false],
  ];
  it.each(cases)("%s", (_name, attributes, want) => {
    expect(matchesAttributes(attributes ? { attributes } : undefined, attrs)).toBe(want);
  });
});

describe("filters dialects", () => {
  const cases: [string, SubscriptionsApiFilter, boolean][] = [
    ["exact match", { exact: { type: "dev.flywheel.training.succeeded" } }, true],
    ["exact mismatch", { exact: { type: "dev.flywheel.training.failed" } }, false],
    ["exact is case-sensitive", { exact: { subject: "IRIS" } }, false],
    ["exact on a missing attribute", { exact: { partitionkey: "1" } }, false],
    ["exact on an extension", { exact: { model: "iris" } }, true],
    ["prefix match", { prefix: { type: "dev.flywheel.training." } }, true],
    ["prefix whole value", { prefix: { type: "dev.flywheel.training.succeeded" } }, true],
    ["prefix mismatch", { prefix: { type: "dev.knative." } }, false],
    ["prefix is case-sensitive", { prefix: { type: "DEV.flywheel" } }, false],
    ["prefix on a missing attribute", { prefix: { dataschema: "https" } }, false],
    ["suffix match", { suffix: { type: ".succeeded" } }, true],
    ["suffix mismatch", { suffix: { type: ".failed" } }, false],
    ["suffix is case-sensitive", { suffix: { source: "Launch-Training" } }, false],
    ["suffix on an extension", { suffix: { model: "ris" } }, true],
    ["all: every nested matches", { all: [{ prefix: { type: "dev.flywheel." } }, { exact: { subject: "iris" } }] }, true],
    ["all: one nested fails", { all: [{ prefix: { type: "dev.flywheel." } }, { exact: { subject: "wine" } }] }, false],
    ["any: one nested matches", { any: [{ exact: { type: "x" } }, { suffix: { type: ".succeeded" } }] }, true],
    ["any: none matches", { any: [{ exact: { type: "x" } }, { exact: { type: "y" } }] }, false],
    ["not: negates a match", { not: { exact: { type: "dev.flywheel.training.succeeded" } } }, false],
    ["not: negates a mismatch", { not: { exact: { type: "dev.flywheel.training.failed" } } }, true],
    ["not on a missing attribute", { not: { exact: { partitionkey: "1" } } }, true],
    [
      "nesting: all[any, not]",
      {
        all: [
          { any: [{ exact: { type: "dev.flywheel.training.failed" } }, { exact: { type: "dev.flywheel.training.succeeded" } }] },
          { not: { prefix: { source: "/flywheel/ui" } } },
        ],
      },
      true,
    ],
    [
      "nesting: not(any[...]) excludes",
      { not: { any: [{ suffix: { type: ".succeeded" } }, { suffix: { type: ".failed" } }] } },
      false,
    ],
    ["nesting: not(not(x)) = x", { not: { not: { exact: { model: "iris" } } } }, true],
  ];
  it.each(cases)("%s", (_name, filter, want) => {
    expect(matchesFilter(filter, attrs)).toBe(want);
  });
});

describe("triggerMatches", () => {
  it("ANDs the filters list", () => {
    expect(triggerMatches({ filters: [{ prefix: { type: "dev.flywheel." } }, { exact: { subject: "iris" } }] }, attrs)).toBe(true);
    expect(triggerMatches({ filters: [{ prefix: { type: "dev.flywheel." } }, { exact: { subject: "wine" } }] }, attrs)).toBe(false);
  });
  it("filters override filter when both are set", () => {
    const t = { filter: { attributes: { type: "something.else" } }, filters: [{ exact: { subject: "iris" } }] };
    expect(triggerMatches(t, attrs)).toBe(true);
    const t2 = { filter: { attributes: { subject: "iris" } }, filters: [{ exact: { subject: "wine" } }] };
    expect(triggerMatches(t2, attrs)).toBe(false);
  });
  it("an empty filters list falls back to filter.attributes", () => {
    expect(triggerMatches({ filter: { attributes: { subject: "wine" } }, filters: [] }, attrs)).toBe(false);
    expect(triggerMatches({ filters: [] }, attrs)).toBe(true);
  });
  it("no filter at all matches every event", () => {
    expect(triggerMatches({}, attrs)).toBe(true);
  });
});
