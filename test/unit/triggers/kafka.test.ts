// Kafka record -> CloudEvent exactly as KafkaSource: pass-through for CloudEvents, wrapping for the rest; poison records.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { headerExtension, intentFromKafka, kafkaSourceManifest, recordToCloudEvent, type KafkaRecord } from "../../../triggers/kafka/index.ts";
import { crdErrors } from "../../support/crds.ts";

const ctx = { topic: "flywheel.training.requests", partition: 3, namespace: "flywheel", sourceName: "training-requests" };
const rec = (over: Partial<KafkaRecord>): KafkaRecord => ({ key: null, value: null, offset: "42", timestamp: "1795000000000", headers: {}, ...over });

describe("recordToCloudEvent", () => {
  it("wraps a plain record as dev.knative.kafka.event with KafkaSource's attributes", () => {
    const { mode, event } = recordToCloudEvent(
      rec({ key: Buffer.from("iris"), value: Buffer.from('{"model":"iris"}'), headers: { "X-Correlation_ID": Buffer.from("abc"), "content-type": "application/json" } }),
      ctx,
    );
    expect(mode).toBe("wrapped");
    expect(event.type).toBe("dev.knative.kafka.event");
    expect(event.source).toBe("/apis/v1/namespaces/flywheel/kafkasources/training-requests#flywheel.training.requests");
    expect(event.subject).toBe("partition:3#42");
    expect(event.id).toBe("partition:3/offset:42");
    expect(event.time).toBe(new Date(1795000000000).toISOString());
    expect(event.key).toBe("iris");
    expect(event.partitionkey).toBe("iris");
    expect(event.kafkaheaderxcorrelationid).toBe("abc");
    expect(event.datacontenttype).toBe("application/json");
    expect(intentFromKafka(event)).toMatchObject({ model: "iris", trigger: { reason: "kafka", kafka: { topic: "flywheel.training.requests", partition: 3, offset: "42" } } });
  });

  it("keeps the raw value of a non-JSON plain record (the mapping decides later)", () => {
    const { event } = recordToCloudEvent(rec({ value: Buffer.from("hello") }), ctx);
    expect(Buffer.from(event.data as Uint8Array).toString()).toBe("hello");
    expect(() => intentFromKafka(event)).toThrow(ValidationError);
  });

  it("passes a binary-mode CloudEvent through unchanged", () => {
    const { mode, event } = recordToCloudEvent(
      rec({
        key: Buffer.from("k"),
        value: Buffer.from('{"model":"iris","command":["/bin/true"]}'),
        headers: {
          ce_specversion: "1.0",
          ce_id: "req-1",
          ce_source: "/airflow/dags/retrain",
          ce_type: "dev.flywheel.training.requested",
          ce_traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          "content-type": "application/json",
        },
      }),
      ctx,
    );
    expect(mode).toBe("binary");
    expect(event.id).toBe("req-1");
    expect(event.source).toBe("/airflow/dags/retrain");
    expect(event.type).toBe("dev.flywheel.training.requested");
    expect(event.traceparent).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    expect(event.data).toEqual({ model: "iris", command: ["/bin/true"] });
    expect(event.partitionkey).toBeUndefined();
  });

  it("passes a structured-mode CloudEvent through unchanged", () => {
    const ce = { specversion: "1.0", id: "req-2", source: "/x", type: "dev.flywheel.training.requested", datacontenttype: "application/json", data: { model: "iris" }, subject: "iris" };
    const { mode, event } = recordToCloudEvent(rec({ value: Buffer.from(JSON.stringify(ce)), headers: { "content-type": "application/cloudevents+json; charset=utf-8" } }), ctx);
    expect(mode).toBe("structured");
    expect({ id: event.id, source: event.source, type: event.type, subject: event.subject, data: event.data }).toEqual({ id: "req-2", source: "/x", type: ce.type, subject: "iris", data: { model: "iris" } });
  });

  it.each([
    ["binary without ce_id", { headers: { ce_specversion: "1.0", ce_source: "/x", ce_type: "t" } }, "ce_id"],
    ["binary with a bad spec version", { headers: { ce_specversion: "0.3", ce_id: "1", ce_source: "/x", ce_type: "t" } }, "ce_specversion"],
    ["binary declared JSON that is not", { value: Buffer.from("{"), headers: { ce_specversion: "1.0", ce_id: "1", ce_source: "/x", ce_type: "t", "content-type": "application/json" } }, "value"],
    ["structured, not JSON", { value: Buffer.from("nope"), headers: { "content-type": "application/cloudevents+json" } }, "value"],
    ["structured, missing type", { value: Buffer.from('{"specversion":"1.0","id":"1","source":"/x"}'), headers: { "content-type": "application/cloudevents+json" } }, "type"],
  ])("poison: %s -> ValidationError on %s", (_n, over, field) => {
    try {
      recordToCloudEvent(rec(over), ctx);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      if (e instanceof ValidationError) expect(e.issues.map((i) => i.field)).toContain(field);
    }
  });

  it("header extension names keep only [a-z0-9]", () => {
    expect(headerExtension("Trace-Id_2")).toBe("kafkaheadertraceid2");
  });
});

describe("kafkaSourceManifest", () => {
  it("is valid against the KafkaSource CRD", () => {
    const ks = kafkaSourceManifest({ namespace: "flywheel", bootstrapServers: ["kafka-bootstrap.kafka:9092"] });
    expect(crdErrors(ks)).toEqual([]);
    expect(ks.spec).toMatchObject({ topics: ["flywheel.training.requests"], consumerGroup: "flywheel-training-requests", sink: { ref: { kind: "Broker", name: "default" } } });
  });
});
