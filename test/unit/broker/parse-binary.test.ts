// The broker ingress's lean binary-mode decoder yields exactly the SDK's CloudEvent (or the SDK's error), on random
// valid and invalid requests (fast-check), and really is the path taken for what toHttpBinary sends.
import { CloudEvent } from "cloudevents";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHttp, toHttpBinary } from "../../../platform/events/envelope.ts";
import { decodeIngress, isValidated, leanDecode } from "../../../platform/local/broker/parse-binary.ts";

type Outcome = { ok: string } | { error: string };

/** The event's own properties as the SDK set them (time dropped when the request set none: both sides then stamp
 * "now"), or the error's shape. */
function outcome(headers: Record<string, string>, run: () => CloudEvent<unknown>): Outcome {
  try {
    const ce = run();
    const obj: Record<string, unknown> = { ...ce };
    if (headers["ce-time"] === undefined || Number.isNaN(Date.parse(headers["ce-time"]))) delete obj.time;
    return { ok: JSON.stringify(Object.entries(obj)) };
  } catch (e) {
    return { error: JSON.stringify({ name: e instanceof Error ? e.constructor.name : typeof e, message: e instanceof Error ? e.message : String(e), issues: e instanceof Error && "issues" in e ? e.issues : undefined }) };
  }
}

const printable = fc.string({ unit: fc.constantFrom("a", "Z", "0", "/", ":", " ", "-", ".", "é", "\t"), maxLength: 12 });
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
/** Mostly `good` (so the lean path is taken often), sometimes anything from `other`. */
const often = <T, U>(good: fc.Arbitrary<T>, other: fc.Arbitrary<U>): fc.Arbitrary<T | U> => fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: other, weight: 1 });
const mostly = <T>(good: T, other: fc.Arbitrary<T | undefined>): fc.Arbitrary<T | undefined> => often(fc.constant(good), other);
const nonEmpty = printable.filter((x) => x.length > 0);

/** Requests near the lean path's edges: right and wrong versions, types, times, extension names, bodies. */
const request = fc.record({
  specversion: mostly("1.0", maybe(fc.constantFrom("0.3", "", "2.0"))),
  id: mostly("evt-1", maybe(printable)),
  source: mostly("/s", maybe(printable)),
  type: mostly("com.example.t", maybe(printable)),
  time: maybe(often(
    fc.oneof(fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom("2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00.123456Z")),
    fc.constantFrom("2024-02-30T00:00:00Z", "not a time", "", "2024-01-01"),
  )),
  subject: maybe(often(nonEmpty, fc.constant(""))),
  dataschema: maybe(mostly("https://x/s.json", fc.constantFrom("", "not a uri"))),
  ext: fc.dictionary(
    often(fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.constantFrom("traceparent", "data_base64", "time", "datacontenttype", "datacontentencoding", "schemaurl", "Upper", "a-b", "data")),
    often(nonEmpty, fc.constant("")),
    { maxKeys: 3 },
  ),
  contentType: mostly("application/json", maybe(fc.constantFrom("application/json; charset=utf-8", "text/plain", "application/octet-stream", "application/cloudevents+json"))),
  bareDatacontenttype: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  body: fc.oneof(
    { arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })).map((v) => JSON.stringify(v)), weight: 3 },
    { arbitrary: fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.constantFrom("", "{bad", '"str"', "plain text", "[1,2", " {}"), printable), weight: 1 },
  ),
});

type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

function toHeaders(r: Req): Record<string, string> {
  const h: Record<string, string> = {};
  const set = (k: string, v: string | undefined): void => {
    if (v !== undefined) h[k] = v;
  };
  set("ce-specversion", r.specversion);
  set("ce-id", r.id);
  set("ce-source", r.source);
  set("ce-type", r.type);
  set("ce-time", r.time);
  set("ce-subject", r.subject);
  set("ce-dataschema", r.dataschema);
  for (const [k, v] of Object.entries(r.ext)) h[`ce-${k}`] = v;
  set("content-type", r.contentType);
  if (r.bareDatacontenttype) h.datacontenttype = "application/json";
  return h;
}

describe("leanDecode / decodeIngress", () => {
  it("equal the SDK's fromHttp on random valid and invalid binary-mode requests: same event, or the same error", () => {
    let leanRuns = 0;
    let refused = 0;
    const runs = 2000;
    fc.assert(
      fc.property(request, (r) => {
        const headers = toHeaders(r);
        const body = Buffer.from(r.body);
        const want = outcome(headers, () => fromHttp(headers, body));
        if ("error" in want) refused++;
        expect(outcome(headers, () => decodeIngress(headers, body))).toEqual(want);
        const lean = leanDecode(headers, body);
        if (!lean) return;
        leanRuns++;
        // The lean path never accepts what the SDK refuses, and builds the same event.
        expect(outcome(headers, () => lean)).toEqual(want);
      }),
      { numRuns: runs },
    );
    // Both sides of the comparison were exercised: a generator drift cannot make this test vacuous.
    expect(leanRuns).toBeGreaterThan(runs / 10);
    expect(refused).toBeGreaterThan(runs / 10);
  });

  it("takes the lean path for what toHttpBinary sends for JSON events, with the SDK's result", () => {
    const ext = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/).filter((k) => !["data", "id", "time", "type", "source", "specversion", "subject", "dataschema", "schemaurl", "datacontenttype", "datacontentencoding"].includes(k)), fc.string({ unit: fc.constantFrom("a", "0", "-", " ", "/"), minLength: 1, maxLength: 8 }), { maxKeys: 3 });
    const data = fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 })), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }));
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9-]{1,20}$/), ext, data, fc.option(fc.string({ unit: fc.constantFrom("a", "/", "1"), minLength: 1, maxLength: 8 }), { nil: undefined }), (id, extensions, d, subject) => {
        const ce = new CloudEvent<unknown>({ id, source: "/producer", type: "dev.flywheel.x", datacontenttype: "application/json", subject, data: d, ...extensions });
        const { headers, body } = toHttpBinary(ce);
        const buf = Buffer.from(body);
        const lean = leanDecode(headers, buf);
        expect(lean).toBeDefined();
        expect(outcome(headers, () => lean ?? new CloudEvent({}))).toEqual(outcome(headers, () => fromHttp(headers, buf)));
      }),
      { numRuns: 500 },
    );
  });

  it("marks what it decoded as validated; an event built in-process is not", () => {
    const { headers, body } = toHttpBinary(new CloudEvent<unknown>({ id: "a", source: "/s", type: "t", datacontenttype: "application/json", data: { n: 1 } }));
    expect(isValidated(decodeIngress(headers, Buffer.from(body)))).toBe(true);
    expect(isValidated(new CloudEvent<unknown>({ id: "a", source: "/s", type: "t" }))).toBe(false);
  });
});
