// Span names and attribute keys: OTel messaging + CloudEvents semantic conventions, plus Flywheel's own few.
import type { Attributes } from "@opentelemetry/api";
import type { AnyCloudEvent } from "../events/envelope.ts";

/** The messaging system behind Flywheel's events: Knative Eventing's Broker (or its embedded twin). */
export const MESSAGING_SYSTEM = "knative";

/** Span names, per the CloudEvents semconv ("CloudEvents Create <type>", "CloudEvents Process <type>"). */
export const SPAN_NAMES = {
  producer: (type: string) => `CloudEvents Create ${type}`,
  consumer: (type: string) => `CloudEvents Process ${type}`,
  /** SERVER spans: "<METHOD> <route>" as the HTTP semconv says. */
  server: (method: string, route: string) => `${method.toUpperCase()} ${route}`,
  /** CLIENT spans: "<peer> <operation>", e.g. "kubernetes create PyTorchJob", "mlflow model-versions/create". */
  client: (peer: string, operation: string) => `${peer} ${operation}`,
} as const;

/** Peers Flywheel calls; used as `peer.service` on CLIENT spans. */
export const CLIENT_PEERS = ["kubernetes", "mlflow", "v2", "broker", "prometheus", "alertmanager", "llm", "airflow"] as const;
export type ClientPeer = (typeof CLIENT_PEERS)[number];

export const MESSAGING_OPERATIONS = ["send", "process"] as const;
export type MessagingOperation = (typeof MESSAGING_OPERATIONS)[number];

/** Messaging + CloudEvents attributes for an event being sent or processed. */
export function eventAttributes(ce: AnyCloudEvent, operation: MessagingOperation, destination?: string): Attributes {
  const attrs: Attributes = {
    "messaging.system": MESSAGING_SYSTEM,
    // `messaging.operation` is the older key some backends still group by; `.type` and `.name` are current semconv.
    "messaging.operation": operation === "send" ? "publish" : "process",
    "messaging.operation.type": operation,
    "messaging.operation.name": operation,
    "messaging.message.id": ce.id,
    "cloudevents.event_id": ce.id,
    "cloudevents.event_type": ce.type,
    "cloudevents.event_source": ce.source,
    "cloudevents.event_spec_version": ce.specversion,
  };
  if (ce.subject) attrs["cloudevents.event_subject"] = ce.subject;
  if (destination) attrs["messaging.destination.name"] = destination;
  return attrs;
}
