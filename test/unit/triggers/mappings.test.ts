// Ping and Kafka trigger mappings: event -> training intent, and their validation errors.
import { CloudEvent } from "cloudevents";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { intentFromPing, pingSourceName } from "../../../triggers/cron/mapping.ts";
import { intentFromKafka, kafkaCoordinates } from "../../../triggers/kafka/mapping.ts";

const ping = (data: unknown, extra: Record<string, unknown> = {}) =>
  new CloudEvent<unknown>({
    specversion: "1.0",
    type: "dev.knative.sources.ping",
    source: "/apis/v1/namespaces/flywheel/pingsources/iris-nightly",
    id: "5b0e2b6e-7c1c-4a46-9c5e-5d0b8e2a1f00",
    datacontenttype: "application/json",
    data,
    ...extra,
  });

const kafka = (data: unknown, extra: Record<string, unknown> = {}) =>
  new CloudEvent<unknown>({
    specversion: "1.0",
    type: "dev.knative.kafka.event",
    source: "/apis/v1/namespaces/flywheel/kafkasources/training-requests#flywheel.training.requests",
    subject: "partition:2#17",
    id: "partition:2/offset:17",
    data,
    ...extra,
  });

function fields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues.map((i) => i.field);
    throw e;
  }
  return [];
}

describe("intentFromPing", () => {
  it("reads model, schedule and overrides", () => {
    expect(intentFromPing(ping({ model: "iris", schedule: "iris-nightly", overrides: { params: { epochs: "50" } } }))).toEqual({
      model: "iris",
      overrides: { params: { epochs: "50" } },
      trigger: { reason: "schedule", eventId: "5b0e2b6e-7c1c-4a46-9c5e-5d0b8e2a1f00", schedule: "iris-nightly" },
    });
  });

  it.each([
    ["JSON text (PingSource data)", JSON.stringify({ model: "iris" })],
    ["bytes", Buffer.from(JSON.stringify({ model: "iris" }))],
  ])("accepts data as %s and takes the schedule name from the source", (_n, data) => {
    const i = intentFromPing(ping(data));
    expect(i.model).toBe("iris");
    expect(i.trigger.schedule).toBe("iris-nightly");
  });

  it("accepts data_base64 (PingSource dataBase64)", () => {
    const ce = new CloudEvent<unknown>({ specversion: "1.0", type: "dev.knative.sources.ping", source: "/apis/v1/namespaces/x/pingsources/p", id: "1", data_base64: Buffer.from('{"model":"wine"}').toString("base64") });
    expect(intentFromPing(ce).model).toBe("wine");
  });

  it.each([
    ["no model", { schedule: "x" }, "data.model"],
    ["unknown key", { model: "iris", extra: 1 }, "data"],
    ["override not a spec field", { model: "iris", overrides: { epochs: 3 } }, "data.overrides.epochs"],
    ["model in overrides", { model: "iris", overrides: { model: "wine" } }, "data.overrides.model"],
    ["not JSON", "{oops", "data"],
  ])("%s -> ValidationError on %s", (_n, data, field) => {
    expect(fields(() => intentFromPing(ping(data)))).toContain(field);
  });

  it("pingSourceName", () => expect(pingSourceName("/apis/v1/namespaces/ns/pingsources/a-b")).toBe("a-b"));
});

describe("intentFromKafka", () => {
  it("a plain record: model plus overrides, with topic/partition/offset lineage", () => {
    expect(intentFromKafka(kafka({ model: "iris", params: { lr: "0.05" }, timeoutSeconds: 300 }))).toEqual({
      model: "iris",
      overrides: { params: { lr: "0.05" }, timeoutSeconds: 300 },
      trigger: { reason: "kafka", eventId: "partition:2/offset:17", kafka: { topic: "flywheel.training.requests", partition: 2, offset: "17" } },
    });
  });

  it("raw bytes as KafkaSource delivers them", () => {
    expect(intentFromKafka(kafka(Buffer.from('{"model":"iris"}'))).model).toBe("iris");
  });

  it.each([
    ["array", [1, 2], "data"],
    ["no model", { kind: "single" }, "data.model"],
    ["forged trigger", { model: "iris", trigger: { reason: "drift" } }, "data.trigger"],
    ["not JSON", Buffer.from("hello"), "data"],
  ])("%s -> ValidationError on %s", (_n, data, field) => {
    expect(fields(() => intentFromKafka(kafka(data)))).toContain(field);
  });

  it("kafkaCoordinates is undefined for a non-KafkaSource id", () => {
    expect(kafkaCoordinates(kafka({}, { id: "abc" }))).toBeUndefined();
  });
});
