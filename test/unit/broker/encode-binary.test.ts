// The lean binary-mode encoder gives exactly the SDK's headers (names, values, order) and body whenever it answers,
// and answers for stored JSON events (fast-check, against toHttpBinary(fromStructured(...))).
import { CloudEvent } from "cloudevents";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventToJson } from "../../../platform/eventing/serialize.ts";
import { fromStructured, toHttpBinary } from "../../../platform/events/envelope.ts";
import { encodeBinaryLean } from "../../../platform/local/broker/encode-binary.ts";

const asEntries = (m: { headers: Record<string, string>; body: string }): unknown => [Object.entries(m.headers), m.body];
const sdkEntries = (obj: Record<string, unknown>): unknown => asEntries(toHttpBinary(fromStructured(obj)));

const often = <T, U>(good: fc.Arbitrary<T>, other: fc.Arbitrary<U>): fc.Arbitrary<T | U> => fc.oneof({ arbitrary: good, weight: 5 }, { arbitrary: other, weight: 1 });
const text = fc.string({ unit: fc.constantFrom("a", "0", "/", " ", "-", ":"), minLength: 1, maxLength: 10 });
const optional = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

/** Stored-event-like objects, with now and then something the lean path must leave to the SDK. */
const stored = fc.record(
  {
    id: often(text, fc.constantFrom("", undefined, 7)),
    time: often(fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom("", "2024-01-01T10:00:00+02:00", "garbage", undefined)),
    type: often(text, fc.constantFrom("", undefined)),
    source: often(text, fc.constantFrom("", undefined)),
    specversion: often(fc.constant("1.0"), fc.constantFrom("0.3", undefined)),
    datacontenttype: optional(fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain")),
    subject: optional(text),
    dataschema: optional(fc.constant("https://x/s.json")),
    data: often(fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 })), fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.constant(new Uint8Array([1, 2])))),
    data_base64: optional(often(fc.constant(undefined), fc.constant("AQI="))),
    schemaurl: optional(often(fc.constant(undefined), fc.constant("https://x"))),
    traceparent: optional(fc.constant("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")),
    n: optional(fc.oneof(fc.integer(), fc.boolean())),
    weird: optional(often(fc.constant(undefined), fc.constant({ nested: 1 }))),
  },
  { requiredKeys: ["id", "time", "type", "source", "specversion", "data"] },
);

describe("encodeBinaryLean", () => {
  it("when it answers, answers exactly what the SDK encodes (headers in order, body); it answers often", () => {
    let answered = 0;
    const runs = 2000;
    fc.assert(
      fc.property(stored, (obj) => {
        const lean = encodeBinaryLean(obj);
        if (!lean) return;
        answered++;
        expect(asEntries(lean)).toEqual(sdkEntries(obj));
      }),
      { numRuns: runs },
    );
    expect(answered).toBeGreaterThan(runs / 10);
  });

  it("answers for every stored JSON event (eventToJson of what producers build), as the SDK would", () => {
    fc.assert(
      fc.property(text, fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/).filter((k) => !["data", "id", "time", "type", "source", "specversion", "subject", "dataschema", "schemaurl", "datacontenttype", "datacontentencoding"].includes(k)), text, { maxKeys: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), (id, ext, data) => {
        const obj = eventToJson(new CloudEvent<unknown>({ id, source: "/p", type: "dev.flywheel.x", datacontenttype: "application/json", data, ...ext }));
        const lean = encodeBinaryLean(obj);
        expect(lean).toBeDefined();
        expect(lean && asEntries(lean)).toEqual(sdkEntries(obj));
      }),
      { numRuns: 300 },
    );
  });
});
