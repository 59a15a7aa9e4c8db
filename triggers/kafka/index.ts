// Kafka triggers: the embedded KafkaSource bridge, record conversion, the KafkaSource manifest and the record mapping.
export { DEFAULT_TOPIC, KafkaBridge, RECORD_OUTCOMES } from "./bridge.ts";
export type { KafkaBridgeOptions, RecordOutcome } from "./bridge.ts";
export { headerExtension, recordToCloudEvent } from "./record.ts";
export type { Converted, KafkaRecord, RecordContext } from "./record.ts";
export { kafkaSourceManifest } from "./kafkasource.ts";
export type { KafkaSourceObject, KafkaSourceOptions } from "./kafkasource.ts";
export { intentFromKafka, kafkaCoordinates } from "./mapping.ts";
