// Broker, Triggers (from triggers/triggers.yaml), PingSources (from triggers/cron/schedules.yaml), ApiServerSource
// and KafkaSource (interfaces.md §1).
import type { DeliverySpec, Destination } from "../eventing/delivery.ts";
import type { SubscriptionsApiFilter } from "../eventing/filters.ts";
import type { TriggerFile } from "../eventing/triggers.ts";
import { trainingStatusSource } from "../../triggers/kubernetes/source.ts";
import type { TrainingOperator } from "./rbac.ts";
import { pingData, type Schedule } from "../../triggers/cron/schedules.ts";
import { meta, type K8sObject } from "./object.ts";
import { BROKER, NAMESPACE } from "./settings.ts";

export const BROKER_CLASSES = { mt: "MTChannelBasedBroker", kafka: "Kafka" } as const;
const BROKER_CLASS_ANNOTATION = "eventing.knative.dev/broker.class";

const brokerRef = { apiVersion: "eventing.knative.dev/v1", kind: "Broker", name: BROKER, namespace: NAMESPACE };

/** Destinations as Knative writes them: refs get an explicit namespace. */
function destination(d: Destination): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (d.ref) out.ref = { apiVersion: d.ref.apiVersion, kind: d.ref.kind, name: d.ref.name, namespace: d.ref.namespace ?? NAMESPACE };
  if (d.uri) out.uri = d.uri;
  return out;
}

function delivery(d: DeliverySpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (d.deadLetterSink) out.deadLetterSink = destination(d.deadLetterSink);
  if (d.retry !== undefined) out.retry = d.retry;
  if (d.backoffPolicy) out.backoffPolicy = d.backoffPolicy;
  if (d.backoffDelay) out.backoffDelay = d.backoffDelay;
  if (d.timeout) out.timeout = d.timeout;
  return out;
}

function filterOut(f: SubscriptionsApiFilter): Record<string, unknown> {
  // One dialect per element (the loader already rejects mixed ones); copy only the one that is set.
  if (f.exact) return { exact: { ...f.exact } };
  if (f.prefix) return { prefix: { ...f.prefix } };
  if (f.suffix) return { suffix: { ...f.suffix } };
  if (f.all) return { all: f.all.map(filterOut) };
  if (f.any) return { any: f.any.map(filterOut) };
  if (f.not) return { not: filterOut(f.not) };
  if (f.cesql !== undefined) return { cesql: f.cesql };
  return {};
}

/** The MT channel broker (the Kafka component patches the class and config). */
export function broker(file: TriggerFile): K8sObject {
  return {
    apiVersion: "eventing.knative.dev/v1",
    kind: "Broker",
    metadata: meta(BROKER, NAMESPACE, "eventing", { annotations: { [BROKER_CLASS_ANNOTATION]: BROKER_CLASSES.mt } }),
    spec: {
      config: { apiVersion: "v1", kind: "ConfigMap", name: "config-br-default-channel", namespace: "knative-eventing" },
      ...(file.delivery ? { delivery: delivery(file.delivery) } : {}),
    },
  };
}

/** Every trigger carries its delivery explicitly (its own, else the file default), so retries never depend on defaults. */
export function triggers(file: TriggerFile): K8sObject[] {
  return file.triggers.map((t) => {
    const d = t.delivery ?? t.brokerDelivery ?? file.delivery;
    const spec: Record<string, unknown> = { broker: t.broker };
    if (t.filters?.length) spec.filters = t.filters.map(filterOut);
    else if (t.filter) spec.filter = { attributes: { ...t.filter.attributes } };
    spec.subscriber = destination(t.subscriber);
    if (d) spec.delivery = delivery(d);
    return { apiVersion: "eventing.knative.dev/v1", kind: "Trigger", metadata: meta(t.name, NAMESPACE, "eventing"), spec };
  });
}

/**
 * The event history: a Trigger with no filter delivers every event on the broker to the event-log function, which
 * records it in the StateStore for the UI's activity page (Knative mode; the embedded broker keeps its own log).
 */
export function eventLogTrigger(file: TriggerFile): K8sObject {
  return {
    apiVersion: "eventing.knative.dev/v1",
    kind: "Trigger",
    metadata: meta("event-log", NAMESPACE, "eventing"),
    spec: {
      broker: file.broker,
      subscriber: { ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "event-log" } },
      ...(file.delivery ? { delivery: delivery(file.delivery) } : {}),
    },
  };
}

export function pingSources(schedules: readonly Schedule[]): K8sObject[] {
  return schedules.map((s) => ({
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: meta(s.name, NAMESPACE, "schedule", { labels: { "flywheel.dev/model": s.model } }),
    spec: {
      schedule: s.schedule,
      timezone: s.timezone ?? "UTC",
      contentType: "application/json",
      data: JSON.stringify(pingData(s)),
      sink: { ref: brokerRef },
    },
  }));
}

/** Name of the PingSource that makes deploy-model check running canaries (the embedded platform uses a timer). */
export const CANARY_CHECK_SOURCE = "deploy-model-canary-check";

/**
 * Knative mode has no process that stays up to watch a canary: a PingSource wakes deploy-model every minute and it
 * decides from Prometheus. It sinks straight to deploy-model, so retrain-on-drift's ping trigger never sees it.
 */
export function canaryCheckSource(): K8sObject {
  return {
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: meta(CANARY_CHECK_SOURCE, NAMESPACE, "schedule"),
    spec: {
      schedule: "* * * * *",
      timezone: "UTC",
      contentType: "application/json",
      data: JSON.stringify({ check: "canary" }),
      sink: { ref: { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "deploy-model", namespace: NAMESPACE } },
    },
  };
}

/**
 * Training status in Knative mode: the training work's own ApiServerSource (triggers/kubernetes/source.ts), watching
 * Flywheel's Jobs, the operator's kind, SparkApplications and their pods. It sinks to the Broker, so the
 * `training-status` trigger delivers to launch-training with the same retries and dead-letter sink as every event.
 */
export function apiServerSource(op: TrainingOperator): K8sObject {
  const src = trainingStatusSource({ namespace: NAMESPACE, ddpOperator: op, serviceAccountName: "training-status-source" });
  const name = String((src.metadata as { name: unknown }).name);
  const spec = { ...(src.spec as Record<string, unknown>), sink: { ref: brokerRef } };
  return { ...src, apiVersion: "sources.knative.dev/v1", kind: "ApiServerSource", metadata: meta(name, NAMESPACE, "eventing"), spec };
}

export function kafkaSource(topic: string, group: string): K8sObject {
  return {
    apiVersion: "sources.knative.dev/v1",
    kind: "KafkaSource",
    metadata: meta("training-requests", NAMESPACE, "eventing"),
    spec: {
      // Set to your cluster's bootstrap servers (ansible: flywheel_kafka_bootstrap_servers patches this).
      bootstrapServers: ["kafka-kafka-bootstrap.kafka.svc.cluster.local:9092"],
      topics: [topic],
      consumerGroup: group,
      initialOffset: "latest",
      ordering: "ordered",
      sink: { ref: brokerRef },
    },
  };
}

export { BROKER_CLASS_ANNOTATION };
