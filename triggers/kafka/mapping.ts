// Trigger mapping: dev.knative.kafka.event (KafkaSource or the embedded KafkaBridge) -> a training intent (reason kafka).
import { ValidationError } from "../../platform/errors.ts";
import { KAFKA_EVENT_TYPE, type AnyCloudEvent } from "../../platform/events/index.ts";
import { checkOverrides, isRecord, jsonData, type TrainingIntent } from "../cron/intent.ts";

/** topic, partition and offset from KafkaSource's attributes (source `...#<topic>`, id `partition:<p>/offset:<o>`). */
export function kafkaCoordinates(ce: AnyCloudEvent): { topic: string; partition: number; offset: string } | undefined {
  const topic = /#(.+)$/.exec(ce.source)?.[1];
  const m = /^partition:(\d+)\/offset:(\d+)$/.exec(ce.id);
  if (!topic || !m?.[1] || !m[2]) return undefined;
  return { topic, partition: Number(m[1]), offset: m[2] };
}

/**
 * A plain record on flywheel.training.requests is a JSON object with `model` and, optionally, any other training spec
 * fields (triggers/kafka/README.md): those override the champion's spec, or form the whole spec for a new model.
 */
export function intentFromKafka(ce: AnyCloudEvent): TrainingIntent {
  if (ce.type !== KAFKA_EVENT_TYPE) throw new ValidationError([{ field: "type", message: `expected ${KAFKA_EVENT_TYPE}` }]);
  const value = jsonData(ce);
  if (!isRecord(value)) throw new ValidationError([{ field: "data", message: "must be a JSON object" }]);
  const { model, ...overrides } = value;
  if (typeof model !== "string" || model.length === 0) throw new ValidationError([{ field: "data.model", message: "is required" }]);
  checkOverrides(overrides, "data");
  const kafka = kafkaCoordinates(ce);
  return { model, overrides, trigger: { reason: "kafka", eventId: ce.id, ...(kafka ? { kafka } : {}) } };
}
