// Event catalogue: every type builds and parses, bad data is rejected with the offending fields named.
import { describe, expect, it } from "vitest";
import {
  buildEvent,
  CATALOGUE,
  dataschemaFor,
  deriveId,
  EVENT_NAMES,
  FeedbackItemSchema,
  fromHttp,
  parseEvent,
  toHttpBinary,
  toStructured,
} from "../../../platform/events/index.ts";
import { ValidationError } from "../../../platform/errors.ts";
import { CloudEvent } from "cloudevents";

const spec = { kind: "single" as const, model: "iris", command: ["node", "train.ts"] };
const jobRef = { jobId: "iris-1", model: "iris", kind: "single" as const, backend: "local" as const, trigger: { reason: "manual" as const } };

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues.map((i) => i.field);
    throw e;
  }
  throw new Error("expected a ValidationError");
}

describe("buildEvent / parseEvent", () => {
  it("round-trips a training.requested event through binary HTTP with its traceparent", () => {
    const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const ce = buildEvent("training.requested", { ...spec, trigger: { reason: "manual" } }, { source: "/test", traceparent: tp });
    const { headers, body } = toHttpBinary(ce);
    expect(headers["ce-traceparent"]).toBe(tp);
    expect(headers["ce-dataschema"]).toBe(dataschemaFor("training.requested"));
    const parsed = parseEvent(fromHttp(headers, body));
    expect(parsed.name).toBe("training.requested");
    expect(parsed.traceparent).toBe(tp);
    expect(parsed.data).toMatchObject({ model: "iris", kind: "single", timeoutSeconds: 3600, params: {} });
  });

  it("round-trips through structured mode", () => {
    const ce = buildEvent("alert.firing", { status: "firing", alertname: "ModelDriftDetected", labels: { model: "iris" }, startsAt: "2026-01-01T00:00:00Z", fingerprint: "abc" }, { source: "/am" });
    const parsed = parseEvent(fromHttp({ "content-type": "application/cloudevents+json" }, JSON.stringify(toStructured(ce))));
    expect(parsed.id).toBe(ce.id);
    expect(parsed.data).toMatchObject({ alertname: "ModelDriftDetected", labels: { model: "iris" } });
  });

  it("derives the same id from the same cause, different ids for different purposes", () => {
    const cause = { id: "evt-1" };
    const a = buildEvent("training.started", { ...jobRef, spec: { ...spec, args: [], params: {}, replicas: 1, procsPerReplica: 1, env: {}, timeoutSeconds: 60 }, startedAt: 1 }, { source: "/x", causedBy: cause });
    const b = buildEvent("training.started", { ...jobRef, spec: { ...spec, args: [], params: {}, replicas: 1, procsPerReplica: 1, env: {}, timeoutSeconds: 60 }, startedAt: 2 }, { source: "/x", causedBy: cause });
    expect(a.id).toBe(b.id);
    expect(a.id).toBe(deriveId("evt-1", "training.started"));
    expect(deriveId("evt-1", "training.succeeded")).not.toBe(a.id);
  });

  it("gives every catalogue type a versioned dataschema", () => {
    for (const name of EVENT_NAMES) expect(dataschemaFor(name)).toMatch(new RegExp(`/${name}/v\\d+\\.\\d+\\.json$`));
  });

  it("builds each schema once, on first use, and the named (lazy) export rejects like the catalogue's", () => {
    expect(CATALOGUE["deployment.ready"].schema).toBe(CATALOGUE["deployment.removed"].schema);
    expect(CATALOGUE["alert.firing"].schema).toBe(CATALOGUE["alert.firing"].schema);
    const bad = { requestId: "r1", label: "a", labels: ["a"] };
    const viaCatalogue = CATALOGUE["inference.feedback"].schema.safeParse({ deployment: "d", feedback: [bad] });
    const viaExport = FeedbackItemSchema.safeParse(bad);
    expect(viaExport.success).toBe(false);
    expect(viaCatalogue.error?.issues.map((i) => i.message)).toEqual(viaExport.error?.issues.map((i) => i.message));
  });
});

describe("schema rejections name the fields", () => {
  const cases: { name: string; build: () => unknown; fields: string[] }[] = [
    { name: "missing model", build: () => buildEvent("training.requested", { command: ["x"] } as never, { source: "/t" }), fields: ["data.model"] },
    { name: "bad kind", build: () => buildEvent("training.requested", { ...spec, kind: "mpi" } as never, { source: "/t" }), fields: ["data.kind"] },
    { name: "unknown field", build: () => buildEvent("training.requested", { ...spec, gpus: 2 } as never, { source: "/t" }), fields: ["data"] },
    { name: "shell string command", build: () => buildEvent("training.requested", { ...spec, command: "python train.py" } as never, { source: "/t" }), fields: ["data.command"] },
    { name: "replicas on single", build: () => buildEvent("training.requested", { ...spec, replicas: 2 }, { source: "/t" }), fields: ["data.replicas"] },
    { name: "neither command nor source", build: () => buildEvent("training.requested", { model: "iris" }, { source: "/t" }), fields: ["data.command"] },
    { name: "uppercase model", build: () => buildEvent("training.requested", { ...spec, model: "Iris" }, { source: "/t" }), fields: ["data.model"] },
    { name: "bad memory quantity", build: () => buildEvent("training.requested", { ...spec, resources: { memory: "lots" } }, { source: "/t" }), fields: ["data.resources.memory"] },
    { name: "numeric version", build: () => buildEvent("model.logged", { model: "iris", version: 3, runId: "r", experimentId: "0", source: "s", flavor: "onnx", jobId: "j", trigger: { reason: "manual" } } as never, { source: "/t" }), fields: ["data.version"] },
    { name: "weights not 100", build: () => buildEvent("deployment.requested", { action: "deploy", spec: { kind: "experiment", name: "ab", candidates: [{ name: "a", weight: 50 }, { name: "b", weight: 40 }] } }, { source: "/t" }), fields: ["data.spec.candidates"] },
  ];
  it.each(cases)("$name", ({ build, fields }) => {
    const got = fieldsOf(build);
    for (const f of fields) expect(got).toContain(f);
  });

  it("rejects an unknown event type", () => {
    const ce = new CloudEvent<unknown>({ id: "1", source: "/x", type: "dev.flywheel.nope", data: {} });
    expect(fieldsOf(() => parseEvent(ce))).toEqual(["type"]);
  });

  it("mentions the weights in the experiment message", () => {
    try {
      buildEvent("deployment.requested", { action: "deploy", spec: { kind: "experiment", name: "ab", candidates: [{ name: "a", weight: 90 }, { name: "b", weight: 20 }] } }, { source: "/t" });
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as Error).message).toContain("got 110 (a=90, b=20)");
      return;
    }
    throw new Error("expected rejection");
  });
});

describe("fromHttp rejects what is not a CloudEvent", () => {
  const cases: { name: string; headers: Record<string, string>; body: string; field: string }[] = [
    { name: "plain JSON", headers: { "content-type": "application/json" }, body: "{}", field: "ce-specversion" },
    { name: "binary without id", headers: { "ce-specversion": "1.0", "ce-source": "/x", "ce-type": "t" }, body: "{}", field: "ce-id" },
    { name: "binary with old specversion", headers: { "ce-specversion": "0.3", "ce-id": "1", "ce-source": "/x", "ce-type": "t" }, body: "{}", field: "ce-specversion" },
    { name: "structured garbage", headers: { "content-type": "application/cloudevents+json" }, body: "{nope", field: "body" },
    { name: "structured array", headers: { "content-type": "application/cloudevents+json" }, body: "[]", field: "body" },
    { name: "structured without type", headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify({ specversion: "1.0", id: "1", source: "/x" }), field: "type" },
  ];
  it.each(cases)("$name", ({ headers, body, field }) => {
    expect(fieldsOf(() => fromHttp(headers, body))).toContain(field);
  });
});
