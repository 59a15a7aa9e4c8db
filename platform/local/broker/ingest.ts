// Accepting events: match triggers, then store the event and its deliveries with group commit (one fsync per batch).
import { PayloadTooLargeError, UpstreamError, ValidationError } from "../../errors.ts";
import { resolveDelivery } from "../../eventing/delivery.ts";
import { attributesOfJson, triggerMatches } from "../../eventing/filters.ts";
import { eventToJson } from "../../eventing/serialize.ts";
import type { TriggerDecl } from "../../eventing/triggers.ts";
import type { AnyCloudEvent } from "../../events/envelope.ts";
import { errorFields, type Logger } from "../../log.ts";
import type { BrokerDb, Claimed, NewDelivery, NewEvent } from "./db.ts";
import { isRfc3339, MAX_EVENT_BYTES, type Accepted } from "./ingress.ts";
import type { BrokerMetrics } from "./metrics.ts";
import { isValidated } from "./parse-binary.ts";
import { mark, markAll } from "./trace.ts";

interface Pending {
  readonly event: NewEvent;
  readonly deliveries: readonly NewDelivery[];
  readonly resolve: (a: Accepted) => void;
  readonly reject: (e: unknown) => void;
}

export interface IngestDeps {
  readonly db: BrokerDb;
  readonly triggers: readonly TriggerDecl[];
  readonly metrics: BrokerMetrics;
  readonly log: Logger;
  readonly now: () => number;
  /** Called after a commit that created deliveries left pending (no free slot to claim them at insert). */
  readonly onDeliveries: () => void;
  /** How many deliveries may be claimed at insert: the dispatcher's free slots. */
  readonly claimable: () => number;
  /** Deliveries claimed at insert, to send now (right after the commit). */
  readonly onClaimed: (claimed: readonly Claimed[]) => void;
}

export class Ingest {
  #batch: Pending[] = [];
  readonly #d: IngestDeps;
  /** Each trigger's delivery row, resolved once (immutable; shared by the events it matches). */
  readonly #deliveries: readonly { trigger: TriggerDecl; delivery: NewDelivery }[];

  constructor(deps: IngestDeps) {
    this.#d = deps;
    this.#deliveries = deps.triggers.map((t) => ({
      trigger: t,
      delivery: { trigger: t.name, kind: "subscriber", target: t.subscriber, delivery: resolveDelivery(t.delivery, t.brokerDelivery) },
    }));
  }

  /** Resolves once the event and one delivery per matching trigger are on disk; (source, id) seen before = duplicate. */
  accept(ce: AnyCloudEvent): Promise<Accepted> {
    const failed = this.#d.db.storageFailed();
    if (failed) return Promise.reject(new UpstreamError("broker storage failed (fsync); it needs a restart", true, { cause: failed }));
    try {
      // The ingress validated it already (a CloudEvent is frozen); an event emitted in-process has not been.
      if (!isValidated(ce)) ce.validate();
    } catch {
      return Promise.reject(new ValidationError([{ field: "event", message: "not a valid CloudEvent" }]));
    }
    // The SDK keeps an unparseable `time` as given; the spec (and Knative's ingress) require RFC 3339.
    if (ce.time !== undefined && !isRfc3339(ce.time)) {
      return Promise.reject(new ValidationError([{ field: "time", message: "must be an RFC 3339 timestamp" }]));
    }
    const structured = eventToJson(ce);
    const json = JSON.stringify(structured);
    if (Buffer.byteLength(json) > MAX_EVENT_BYTES) {
      return Promise.reject(new PayloadTooLargeError(`event larger than ${MAX_EVENT_BYTES} bytes (1 MiB)`));
    }
    const attrs = attributesOfJson(structured);
    const deliveries = this.#deliveries.filter((d) => triggerMatches(d.trigger, attrs)).map((d) => d.delivery);
    const event: NewEvent = { source: ce.source, id: ce.id, type: ce.type, subject: ce.subject, json };
    return new Promise((resolve, reject) => {
      this.#batch.push({ event, deliveries, resolve, reject });
      mark("enqueued", event.id);
      // Requests that arrive in the same event-loop turn share one transaction.
      if (this.#batch.length === 1) setImmediate(() => this.flush());
    });
  }

  /**
   * Commit what is waiting (one transaction for every request that arrived together), then answer once the fsync
   * covering it returned: the 202 still means "on disk". Called on the next turn, and by stop() before the database
   * closes. Deliveries claimed in the insert are sent right after the commit, while the disk syncs: a delivery may
   * thus precede its 202, never the reverse. A power cut before the sync loses an event nobody was told is stored
   * (its producer retries: at least once still holds); kill -9 loses nothing (the frames are in the page cache).
   */
  flush(): void {
    const batch = this.#batch.splice(0);
    if (batch.length === 0) return;
    let stored: ReturnType<BrokerDb["insertEvents"]>;
    try {
      if (!this.#d.db.db.open) throw new Error("database closed");
      stored = this.#d.db.insertEvents(batch, this.#d.now(), this.#d.claimable());
    } catch (e) {
      this.#fail(batch, e);
      return;
    }
    const ids = batch.map((p) => p.event.id);
    markAll("committed", ids);
    if (stored.claimed.length) this.#d.onClaimed(stored.claimed);
    const created = batch.reduce((n, p, i) => n + (stored.seqs[i] === undefined ? 0 : p.deliveries.length), 0);
    if (created > stored.claimed.length) this.#d.onDeliveries();
    stored.durable.then(
      () => {
        markAll("durable", ids);
        this.#answer(batch, stored.seqs);
      },
      (e: unknown) => this.#fail(batch, e),
    );
  }

  #answer(batch: readonly Pending[], seqs: readonly (number | undefined)[]): void {
    batch.forEach((p, i) => {
      this.#d.metrics.received.inc({ type: p.event.type });
      if (seqs[i] === undefined) {
        this.#d.log.debug("duplicate event ignored", { id: p.event.id, source: p.event.source, type: p.event.type });
        p.resolve({ id: p.event.id, source: p.event.source, duplicate: true, deliveries: 0 });
        return;
      }
      p.resolve({ id: p.event.id, source: p.event.source, duplicate: false, deliveries: p.deliveries.length });
    });
  }

  #fail(batch: readonly Pending[], e: unknown): void {
    this.#d.log.error("broker could not store events", { events: batch.length, ...errorFields(e) });
    const err = new UpstreamError("broker could not store the event; try again", true, { cause: e });
    for (const p of batch) p.reject(err);
  }
}
