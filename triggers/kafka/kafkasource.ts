// Generates the Knative KafkaSource (sources.knative.dev/v1) for the training-requests topic, for `flywheel manifests`.
import { DEFAULT_TOPIC } from "./bridge.ts";

export interface KafkaSourceOptions {
  readonly namespace: string;
  readonly bootstrapServers: readonly string[];
  readonly name?: string | undefined;
  readonly topic?: string | undefined;
  readonly consumerGroup?: string | undefined;
  readonly initialOffset?: "earliest" | "latest" | undefined;
  readonly sink?: { ref: { apiVersion: string; kind: string; name: string; namespace?: string } } | { uri: string };
}

export interface KafkaSourceObject {
  apiVersion: "sources.knative.dev/v1";
  kind: "KafkaSource";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    bootstrapServers: string[];
    topics: string[];
    consumerGroup: string;
    initialOffset: "earliest" | "latest";
    ordering: "ordered";
    sink: NonNullable<KafkaSourceOptions["sink"]>;
  };
}

/** Ordered delivery (per-partition, one at a time) and the default Broker as sink, whose Triggers route to retrain-on-drift. */
export function kafkaSourceManifest(o: KafkaSourceOptions): KafkaSourceObject {
  return {
    apiVersion: "sources.knative.dev/v1",
    kind: "KafkaSource",
    metadata: {
      name: o.name ?? "flywheel-training-requests",
      namespace: o.namespace,
      labels: { "app.kubernetes.io/part-of": "flywheel", "app.kubernetes.io/component": "kafka-trigger" },
    },
    spec: {
      bootstrapServers: [...o.bootstrapServers],
      topics: [o.topic ?? DEFAULT_TOPIC],
      consumerGroup: o.consumerGroup ?? "flywheel-training-requests",
      initialOffset: o.initialOffset ?? "earliest",
      ordering: "ordered",
      sink: o.sink ?? { ref: { apiVersion: "eventing.knative.dev/v1", kind: "Broker", name: "default" } },
    },
  };
}
