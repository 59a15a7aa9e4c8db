// EmbeddedBroker: Knative Broker/Trigger semantics in one process, on SQLite (architecture.md "EventBus: embedded").
import type { Hono } from "hono";
import { Registry } from "prom-client";
import { ConflictError, UpstreamError } from "../../errors.ts";
import { clampInt, DeadLetterStore, originalEvent, type DeadLetter, type DeadLetterQuery } from "../../eventing/dead-letter-store.ts";
import { destinationUrl } from "../../eventing/delivery.ts";
import type { TriggerDecl } from "../../eventing/triggers.ts";
import type { AnyCloudEvent } from "../../events/envelope.ts";
import type { Logger } from "../../log.ts";
import type { EventBus } from "../../ports.ts";
import { BrokerDb, openDatabase, parseTarget, toDeliveryInfo, type EventRow } from "./db.ts";
import { Dispatcher } from "./dispatcher.ts";
import { Ingest } from "./ingest.ts";
import { ingressRoutes, type Accepted } from "./ingress.ts";
import { createBrokerMetrics, type BrokerMetrics } from "./metrics.ts";
import type { Deliver, EmbeddedBrokerOptions, EventQuery, EventsAboutQuery, StoredEvent } from "./types.ts";

const HOUR = 3_600_000;

export class EmbeddedBroker implements EventBus {
  readonly log: Logger;
  readonly metrics: BrokerMetrics;
  /** The dead-letter queue. Share it with the `deadLetter` function so a deadLetterSink delivery lands in the same row. */
  readonly deadLetterStore: DeadLetterStore;
  readonly #db: BrokerDb;
  readonly #triggers: readonly TriggerDecl[];
  readonly #now: () => number;
  readonly #dispatcher: Dispatcher;
  readonly #ingest: Ingest;
  readonly #namespace: string;
  readonly #stopGraceMs: number;
  readonly #deliver: Deliver;
  readonly #retentionMs: number;
  #state: "created" | "running" | "stopped" = "created";
  #pruneTimer: NodeJS.Timeout | undefined;

  constructor(opts: EmbeddedBrokerOptions) {
    this.log = opts.log.child({ component: "broker" });
    this.#now = opts.now ?? Date.now;
    this.#triggers = opts.triggers;
    this.#namespace = opts.namespace ?? "flywheel";
    this.#stopGraceMs = opts.stopGraceMs ?? 5_000;
    this.#retentionMs = opts.retentionMs ?? 7 * 24 * HOUR;
    this.#db = new BrokerDb(openDatabase(opts.dbPath));
    this.deadLetterStore = new DeadLetterStore(this.#db.db);
    this.metrics = createBrokerMetrics(opts.metrics ?? new Registry(), () => (this.#db.db.open ? this.#db.unfinished() : 0));
    const deliver: Deliver = opts.deliver;
    this.#deliver = deliver;
    this.#dispatcher = new Dispatcher({
      db: this.#db,
      dlq: this.deadLetterStore,
      deliver,
      log: this.log,
      metrics: this.metrics,
      now: this.#now,
      sleep: opts.sleep,
      concurrency: Math.max(1, opts.concurrency ?? 16),
      namespace: this.#namespace,
    });
    this.#ingest = new Ingest({
      db: this.#db,
      triggers: this.#triggers,
      metrics: this.metrics,
      log: this.log,
      now: this.#now,
      onDeliveries: () => this.#dispatcher.schedule(),
      claimable: () => this.#dispatcher.free(),
      onClaimed: (claimed) => this.#dispatcher.launchAll(claimed),
    });
  }

  /** POST / is the ingress (mount at /events). */
  routes(): Hono {
    return ingressRoutes({ accept: (ce) => this.accept(ce), log: this.log, metrics: this.metrics });
  }

  /** Same path as the ingress, in-process. Resolves once the event and its deliveries are stored. */
  async emit(ce: AnyCloudEvent): Promise<void> {
    await this.accept(ce);
  }

  /** Store an event and one delivery per matching trigger, atomically; (source, id) seen before = duplicate. */
  accept(ce: AnyCloudEvent): Promise<Accepted> {
    if (this.#state === "stopped") return Promise.reject(new UpstreamError("broker is stopped", true));
    return this.#ingest.accept(ce);
  }

  /** Resume: attempts that were in flight when the process died are due again; then deliver everything due. */
  async start(): Promise<void> {
    if (this.#state !== "created") return;
    const now = this.#now();
    const recovered = this.#db.recoverInflight(now);
    const unfinished = this.#db.unfinished();
    this.#state = "running";
    this.#prune();
    this.#pruneTimer = setInterval(() => this.#prune(), HOUR);
    this.#pruneTimer.unref();
    this.#db.startCheckpoints((message) => this.log.warn("broker WAL checkpoint failed; the next one retries", { error: message }));
    this.#dispatcher.start();
    this.log.info("broker started", { triggers: this.#triggers.length, unfinished, recovered });
  }

  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#ingest.flush();
    clearInterval(this.#pruneTimer);
    await this.#dispatcher.stop(this.#stopGraceMs);
    // Its kept-alive sockets would otherwise hold subscribers' connections (and this process's handles) open.
    this.#deliver.close?.();
    await this.#db.close();
  }

  ready(): boolean {
    return this.#state === "running" && this.#db.db.open && !this.#db.storageFailed();
  }

  /** Resolves when no delivery is pending or in flight (retries in backoff included). */
  idle(): Promise<void> {
    return this.#dispatcher.idle();
  }

  recentEvents(q: EventQuery = {}): StoredEvent[] {
    const rows = this.#db.recentEvents({
      limit: clampInt(q.limit, 50, 1, 1000),
      offset: clampInt(q.offset, 0, 0, Number.MAX_SAFE_INTEGER),
      type: q.type || undefined,
    });
    return this.#withDeliveries(rows);
  }

  /** The events about one model version (its lineage), newest first, selected on indexes. */
  eventsAbout(q: EventsAboutQuery): StoredEvent[] {
    return this.#withDeliveries(this.#db.eventsAbout({ model: q.model, version: q.version, jobId: q.jobId, deployments: q.deployments ?? [], limit: clampInt(q.limit, 20, 1, 1000) }));
  }

  /** Every stored event with this CloudEvents id (ids are unique per source). */
  eventsById(id: string): StoredEvent[] {
    return this.#withDeliveries(this.#db.eventsById(id));
  }

  deadLetters(q: DeadLetterQuery = {}): DeadLetter[] {
    return this.deadLetterStore.list(q);
  }

  /**
   * Redeliver a dead letter to the trigger(s) that gave up on it, from attempt 1. Not through the ingress: that
   * dedupes on (source, id). An event this broker no longer holds (pruned) is ingested afresh.
   */
  async replayDeadLetter(id: string): Promise<void> {
    const dl = this.deadLetterStore.get(id);
    if (dl.state !== "dead") return;
    const now = this.#now();
    const ev = this.#db.eventByKey(dl.source, dl.eventId);
    if (!ev) {
      await this.accept(originalEvent(dl));
    } else {
      const seqs = this.#db
        .deliveriesOf([ev.seq])
        .filter((d) => d.kind === "subscriber" && d.state === "dead_lettered")
        .filter((d) => (dl.trigger ? d.trigger === dl.trigger : this.#urlOf(d.target) === dl.errorDest))
        .map((d) => d.seq);
      if (seqs.length === 0) {
        throw new ConflictError(`dead letter ${id}: no dead-lettered delivery of event ${dl.eventId} is known to this broker`);
      }
      this.#db.db.transaction(() => this.#db.rearm(seqs, now))();
    }
    this.deadLetterStore.markReplayed(id, now);
    this.log.info("dead letter replayed", { deadLetterId: id, eventId: dl.eventId, trigger: dl.trigger });
    this.#dispatcher.schedule();
  }

  discardDeadLetter(id: string): void {
    this.deadLetterStore.discard(id, this.#now());
  }

  #urlOf(targetJson: string): string {
    try {
      const t = parseTarget(targetJson);
      return destinationUrl({ ref: t.ref ? { kind: t.ref.kind, name: t.ref.name, namespace: t.ref.namespace } : undefined, uri: t.uri }, this.#namespace);
    } catch {
      return "";
    }
  }

  #withDeliveries(rows: EventRow[]): StoredEvent[] {
    const deliveries = this.#db.deliveriesOf(rows.map((r) => r.seq));
    return rows.map((r) => {
      const event: unknown = JSON.parse(r.event);
      return {
        seq: r.seq,
        id: r.id,
        source: r.source,
        type: r.type,
        subject: r.subject ?? undefined,
        receivedAt: r.received_at,
        event: typeof event === "object" && event !== null ? Object.fromEntries(Object.entries(event)) : {},
        deliveries: deliveries.filter((d) => d.event_seq === r.seq).map(toDeliveryInfo),
      };
    });
  }

  #prune(): void {
    if (this.#retentionMs <= 0 || !this.#db.db.open) return;
    const n = this.#db.prune(this.#now() - this.#retentionMs);
    if (n > 0) this.log.info("broker pruned finished events", { events: n });
  }
}
