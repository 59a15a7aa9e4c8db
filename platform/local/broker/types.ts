// Types of the embedded broker's public surface: the deliver function it calls, and what it reports.
import type { Registry } from "prom-client";
import type { TriggerDecl } from "../../eventing/triggers.ts";
import type { Logger } from "../../log.ts";

/** A trigger's subscriber (or a deadLetterSink): a Knative ref (function name) and/or a uri. */
export interface Subscriber {
  readonly ref?: { readonly apiVersion?: string | undefined; readonly kind: string; readonly name: string } | undefined;
  readonly uri?: string | undefined;
}

export interface OutboundMessage {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * One HTTP delivery attempt. Resolves with the subscriber's status (and body, used for knativeerrordata); a rejection
 * is a transport error. `opts.signal` aborts when the DeliverySpec timeout expires.
 */
export type Deliver = ((
  subscriber: Subscriber,
  message: OutboundMessage,
  opts?: { readonly signal: AbortSignal; readonly timeoutMs: number },
) => Promise<{ status: number; body?: string }>) & {
  /** Close kept-alive sockets (the broker calls it when it stops; a later delivery opens new ones). */
  readonly close?: (() => void) | undefined;
};

export interface EmbeddedBrokerOptions {
  /**
   * SQLite file (WAL; an event's commit is fsync-ed before its 202, one sync per group commit). ":memory:" works for tests
   * that need no durability.
   */
  readonly dbPath: string;
  readonly triggers: readonly TriggerDecl[];
  readonly deliver: Deliver;
  readonly log: Logger;
  readonly metrics?: Registry | undefined;
  /** epoch ms */
  readonly now?: (() => number) | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Deliveries in flight at once. Default 16. */
  readonly concurrency?: number | undefined;
  /** Namespace used to render a ref as a URL in knativeerrordest. Default "flywheel". */
  readonly namespace?: string | undefined;
  /** How long stop() waits for attempts in flight before closing the database. Default 5000 ms. */
  readonly stopGraceMs?: number | undefined;
  /** Finished events older than this are pruned (on start and hourly). Default 7 days; 0 disables pruning. */
  readonly retentionMs?: number | undefined;
}

export const DELIVERY_STATES = ["pending", "inflight", "delivered", "dead_lettered", "failed"] as const;
/** pending: waiting for its next attempt; inflight: an attempt is running; delivered: 2xx; dead_lettered: given up and
 * stored in the dead-letter queue; failed: a deadLetterSink delivery that gave up (the dead letter stays stored). */
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const DELIVERY_KINDS = ["subscriber", "dead_letter_sink"] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

export interface DeliveryInfo {
  readonly trigger: string;
  readonly kind: DeliveryKind;
  readonly state: DeliveryState;
  readonly attempts: number;
  /** epoch ms; meaningful while pending */
  readonly nextAttemptAt: number;
  readonly lastStatus: number | undefined;
  readonly lastError: string | undefined;
  readonly updatedAt: number;
}

export interface StoredEvent {
  readonly seq: number;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | undefined;
  /** epoch ms, when the ingress accepted it */
  readonly receivedAt: number;
  /** The event, structured JSON. */
  readonly event: Record<string, unknown>;
  /** One per matched trigger (plus deadLetterSink deliveries). Empty when no trigger matched. */
  readonly deliveries: readonly DeliveryInfo[];
}

/**
 * The events about one model version, newest first: its own (data.model and data.version), its training job's
 * (data.jobId) and its deployments' (data.name, unless they name another version). Selected in SQL on indexes.
 */
export interface EventsAboutQuery {
  readonly model: string;
  readonly version: string;
  readonly jobId?: string | undefined;
  readonly deployments?: readonly string[] | undefined;
  readonly limit?: number | undefined;
}

export interface EventQuery {
  readonly limit?: number | undefined;
  readonly offset?: number | undefined;
  readonly type?: string | undefined;
}
