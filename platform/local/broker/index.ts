// Public surface of the embedded broker (mount `routes()` at /events).
export { EmbeddedBroker } from "./broker.ts";
export { createDeliver, unresolvedSubscribers, type CreateDeliverOptions, type InProcessService } from "./deliver.ts";
export { MAX_EVENT_BYTES, type Accepted } from "./ingress.ts";
export { DELIVERY_OUTCOMES, type DeliveryOutcome } from "./metrics.ts";
export type {
  Deliver,
  DeliveryInfo,
  DeliveryKind,
  DeliveryState,
  EmbeddedBrokerOptions,
  EventQuery,
  OutboundMessage,
  StoredEvent,
  Subscriber,
} from "./types.ts";
export type { DeadLetter, DeadLetterQuery, DeadLetterState } from "../../eventing/dead-letters.ts";
export type { TriggerDecl } from "../../eventing/triggers.ts";
