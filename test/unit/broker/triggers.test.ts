// The trigger file: validation errors name the field; the repository's triggers.yaml routes the loop as intended.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CloudEvent } from "cloudevents";
import { describe, expect, it } from "vitest";
import { ConfigError, ValidationError } from "../../../platform/errors.ts";
import { crdErrors } from "../../support/crds.ts";
import { attributesOf, triggerMatches } from "../../../platform/eventing/filters.ts";
import { resolveDelivery } from "../../../platform/eventing/delivery.ts";
import {
  CESQL_UNSUPPORTED,
  DEFAULT_TRIGGERS_FILE,
  loadTriggerFile,
  parseTriggerFile,
  parseTriggerYaml,
} from "../../../platform/eventing/triggers.ts";

const sub = { ref: { kind: "Service", name: "fn" } };
const file = (triggers: unknown[], extra: Record<string, unknown> = {}): unknown => ({ ...extra, triggers });

function issuesOf(doc: unknown, opts = {}): { field: string; message: string }[] {
  try {
    parseTriggerFile(doc, opts);
  } catch (e) {
    if (e instanceof ValidationError) return [...e.issues];
    throw e;
  }
  throw new Error("expected a ValidationError");
}

describe("trigger file validation names the field", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["name not a DNS label", file([{ name: "Bad_Name", subscriber: sub }]), "triggers[0].name", /DNS label/],
    ["name missing", file([{ subscriber: sub }]), "triggers[0].name", /./],
    ["duplicate names", file([{ name: "a", subscriber: sub }, { name: "a", subscriber: sub }]), "triggers[1].name", /duplicate/],
    ["no subscriber", file([{ name: "a" }]), "triggers[0].subscriber", /./],
    ["subscriber with neither ref nor uri", file([{ name: "a", subscriber: {} }]), "triggers[0].subscriber", /ref or uri/],
    ["relative uri without ref", file([{ name: "a", subscriber: { uri: "/x" } }]), "triggers[0].subscriber.uri", /absolute/],
    [
      "absolute uri with ref",
      file([{ name: "a", subscriber: { ref: sub.ref, uri: "http://x.example/" } }]),
      "triggers[0].subscriber.uri",
      /relative/,
    ],
    ["ref without kind", file([{ name: "a", subscriber: { ref: { name: "fn" } } }]), "triggers[0].subscriber.ref.kind", /./],
    ["unknown trigger field", file([{ name: "a", subscriber: sub, filterz: {} }]), "triggers[0]", /filterz/],
    [
      "two dialects in one element",
      file([{ name: "a", subscriber: sub, filters: [{ exact: { type: "x" }, prefix: { type: "y" } }] }]),
      "triggers[0].filters[0]",
      /multiple dialects/,
    ],
    ["no dialect", file([{ name: "a", subscriber: sub, filters: [{}] }]), "triggers[0].filters[0]", /exactly one/],
    [
      "unknown dialect",
      file([{ name: "a", subscriber: sub, filters: [{ regex: { type: "x" } }] }]),
      "triggers[0].filters[0].regex",
      /unknown filter dialect/,
    ],
    [
      "exact with two attributes",
      file([{ name: "a", subscriber: sub, filters: [{ exact: { type: "x", source: "y" } }] }]),
      "triggers[0].filters[0].exact",
      /exactly one attribute/,
    ],
    [
      "uppercase attribute name",
      file([{ name: "a", subscriber: sub, filters: [{ exact: { Type: "x" } }] }]),
      "triggers[0].filters[0].exact.Type",
      /lowercase/,
    ],
    [
      "attribute name with a dash",
      file([{ name: "a", subscriber: sub, filters: [{ prefix: { "my-ext": "x" } }] }]),
      "triggers[0].filters[0].prefix.my-ext",
      /lowercase/,
    ],
    [
      "empty prefix value",
      file([{ name: "a", subscriber: sub, filters: [{ prefix: { type: "" } }] }]),
      "triggers[0].filters[0].prefix.type",
      /empty/,
    ],
    [
      "non-string suffix value",
      file([{ name: "a", subscriber: sub, filters: [{ suffix: { type: 3 } }] }]),
      "triggers[0].filters[0].suffix.type",
      /string/,
    ],
    ["empty all", file([{ name: "a", subscriber: sub, filters: [{ all: [] }] }]), "triggers[0].filters[0].all", /at least one/],
    [
      "bad nested filter inside any",
      file([{ name: "a", subscriber: sub, filters: [{ any: [{ exact: { type: "x" } }, { exact: { "9x": "y" } }] }] }]),
      "triggers[0].filters[0].any[1].exact.9x",
      /lowercase/,
    ],
    [
      "bad filter inside not",
      file([{ name: "a", subscriber: sub, filters: [{ not: { suffix: {} } }] }]),
      "triggers[0].filters[0].not.suffix",
      /exactly one/,
    ],
    [
      "cesql rejected embedded",
      file([{ name: "a", subscriber: sub, filters: [{ cesql: "type = 'x'" }] }]),
      "triggers[0].filters[0].cesql",
      /not supported by the embedded broker/,
    ],
    ["filters not a list", file([{ name: "a", subscriber: sub, filters: { exact: { type: "x" } } }]), "triggers[0].filters", /list/],
    [
      "bad attributes filter name",
      file([{ name: "a", subscriber: sub, filter: { attributes: { "Bad.Name": "x" } } }]),
      "triggers[0].filter.attributes.Bad.Name",
      /lowercase/,
    ],
    ["negative retry", file([], { delivery: { retry: -1 } }), "delivery.retry", />= 0/],
    ["bad backoffPolicy", file([], { delivery: { backoffPolicy: "fibonacci" } }), "delivery.backoffPolicy", /./],
    ["bad backoffDelay", file([], { delivery: { backoffDelay: "500ms" } }), "delivery.backoffDelay", /ISO-8601/],
    ["zero timeout", file([{ name: "a", subscriber: sub, delivery: { timeout: "PT0S" } }]), "triggers[0].delivery.timeout", /greater than 0/],
    ["unknown delivery field", file([], { delivery: { retryAfterMax: "PT1S" } }), "delivery", /retryAfterMax/],
    ["triggers missing", {}, "triggers", /./],
    ["trigger broker differs", file([{ name: "a", broker: "other", subscriber: sub }]), "triggers[0].broker", /file's broker/],
  ];
  it.each(cases)("%s -> %s", (_name, doc, field, message) => {
    const issues = issuesOf(doc);
    const hit = issues.find((i) => i.field === field);
    expect(hit, `issues were ${JSON.stringify(issues)}`).toBeDefined();
    expect(hit?.message).toMatch(message);
  });

  it("reports every problem at once", () => {
    const issues = issuesOf(file([{ name: "A", subscriber: {} }, { name: "b", subscriber: sub, filters: [{}] }]));
    expect(issues.map((i) => i.field)).toEqual(expect.arrayContaining(["triggers[0].name", "triggers[0].subscriber", "triggers[1].filters[0]"]));
  });

  it("the manifest generator may let cesql through", () => {
    const f = parseTriggerFile(file([{ name: "a", subscriber: sub, filters: [{ cesql: "type = 'x'" }] }]), { allowCesql: true });
    expect(f.triggers[0]?.filters).toEqual([{ cesql: "type = 'x'" }]);
    expect(CESQL_UNSUPPORTED).toMatch(/cesql/);
  });

  it("YAML syntax errors are reported, and loadTriggerFile prefixes the path in a ConfigError", () => {
    expect(() => parseTriggerYaml("triggers: [")).toThrow(ValidationError);
    const dir = mkdtempSync(path.join(tmpdir(), "flywheel-triggers-"));
    const p = path.join(dir, "t.yaml");
    writeFileSync(p, "triggers:\n  - name: UPPER\n    subscriber: {uri: http://x.example/}\n");
    try {
      loadTriggerFile(p);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect(String(e)).toContain(`${p}: triggers[0].name`);
    }
    expect(() => loadTriggerFile(path.join(dir, "missing.yaml"))).toThrow(/cannot read trigger file/);
  });
});

describe("the repository's triggers/triggers.yaml", () => {
  const f = loadTriggerFile(DEFAULT_TRIGGERS_FILE);
  const route = (type: string): string[] => {
    const attrs = attributesOf(new CloudEvent<unknown>({ id: "1", source: "/test", type }));
    return f.triggers.filter((t) => triggerMatches(t, attrs)).map((t) => t.subscriber.ref?.name ?? "?").sort();
  };

  const table: [string, string[]][] = [
    ["dev.flywheel.training.requested", ["launch-training"]],
    ["dev.flywheel.training.succeeded", ["log-model", "retrain-on-drift"]],
    ["dev.flywheel.training.failed", ["retrain-on-drift"]],
    ["dev.flywheel.training.cancelled", ["retrain-on-drift"]],
    ["dev.flywheel.training.started", []],
    ["dev.flywheel.model.promotion.requested", ["log-model"]],
    ["dev.flywheel.model.promoted", ["deploy-model"]],
    ["dev.flywheel.model.logged", []],
    ["dev.flywheel.deployment.requested", ["deploy-model"]],
    ["dev.flywheel.alert.firing", ["retrain-on-drift"]],
    ["dev.flywheel.alert.resolved", ["retrain-on-drift"]],
    ["dev.knative.apiserver.resource.update", ["launch-training"]],
    ["dev.knative.apiserver.resource.delete", ["launch-training"]],
    ["dev.knative.sources.ping", ["retrain-on-drift"]],
    ["dev.knative.kafka.event", ["retrain-on-drift"]],
    ["dev.flywheel.inference.requested", ["infer"]],
  ];
  it.each(table)("%s -> %j", (type, subscribers) => {
    expect(route(type)).toEqual(subscribers);
  });

  it("every subscriber is a Knative Service ref, and the default delivery is retry 5, exponential PT0.5S, dead-letter Service", () => {
    for (const t of f.triggers) {
      expect(t.subscriber.ref).toMatchObject({ apiVersion: "serving.knative.dev/v1", kind: "Service" });
      for (const el of t.filters ?? []) expect(Object.keys(el)).toHaveLength(1);
    }
    expect(f.broker).toBe("default");
    const d = resolveDelivery(undefined, f.delivery);
    expect(d).toMatchObject({ retry: 5, backoffPolicy: "exponential", backoffDelayMs: 500 });
    expect(d.deadLetterSink?.ref).toEqual({ apiVersion: "serving.knative.dev/v1", kind: "Service", name: "dead-letter" });
  });
});

describe("triggers.yaml as Knative objects", () => {
  it("each trigger is a valid eventing.knative.dev/v1 Trigger, and the default delivery a valid Broker spec.delivery", () => {
    const f = loadTriggerFile(DEFAULT_TRIGGERS_FILE);
    for (const t of f.triggers) {
      const trigger = {
        apiVersion: "eventing.knative.dev/v1",
        kind: "Trigger",
        metadata: { name: t.name, namespace: "flywheel" },
        spec: { broker: t.broker, filters: t.filters, subscriber: t.subscriber, ...(t.delivery ? { delivery: t.delivery } : {}) },
      };
      expect(crdErrors(trigger), t.name).toEqual([]);
    }
    const broker = {
      apiVersion: "eventing.knative.dev/v1",
      kind: "Broker",
      metadata: { name: f.broker, namespace: "flywheel" },
      spec: { delivery: f.delivery },
    };
    expect(crdErrors(broker)).toEqual([]);
  });
});
