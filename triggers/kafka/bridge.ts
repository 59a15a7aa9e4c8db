// KafkaBridge: the embedded twin of a KafkaSource. Consumes the training-requests topic and hands each record to the bus
// as a CloudEvent, committing its offset only after the bus durably accepted it.
import { Kafka, logLevel, type Consumer, type EachBatchPayload } from "kafkajs";
import { Counter, type Registry } from "prom-client";
import type { Config } from "../../platform/config/index.ts";
import { isKnownError, UpstreamError } from "../../platform/errors.ts";
import { errorFields, type Logger } from "../../platform/log.ts";
import type { EventBus } from "../../platform/ports.ts";
import { recordToCloudEvent, type KafkaRecord } from "./record.ts";

export const DEFAULT_TOPIC = "flywheel.training.requests";

export interface KafkaBridgeOptions {
  readonly brokers: readonly string[];
  readonly topic?: string | undefined;
  readonly groupId: string;
  readonly bus: EventBus;
  readonly log: Logger;
  /** Namespace and name used in the wrapped events' source, as a KafkaSource with that name would. */
  readonly namespace: string;
  readonly sourceName?: string | undefined;
  /** Where a new consumer group starts. Default earliest (a request produced before the first start is not lost). */
  readonly initialOffset?: "earliest" | "latest" | undefined;
  /** Attempts to hand one record to the bus before pausing the partition. Default 5. */
  readonly emitAttempts?: number | undefined;
  /** First retry delay, doubled each attempt. Default 200 ms. */
  readonly retryBaseMs?: number | undefined;
  /** How long a partition stays paused after the bus kept failing; the record is then retried. Default 5 s. */
  readonly pauseMs?: number | undefined;
  readonly clientId?: string | undefined;
  /** Consumer group session timeout: how long a crashed member holds its partitions. Default 30 s (kafkajs). */
  readonly sessionTimeoutMs?: number | undefined;
  readonly registry?: Registry | undefined;
}

export const RECORD_OUTCOMES = ["passed-through", "wrapped", "poison", "bus-retry"] as const;
export type RecordOutcome = (typeof RECORD_OUTCOMES)[number];

export class KafkaBridge {
  readonly #o: KafkaBridgeOptions;
  readonly #topic: string;
  readonly #counts = new Map<RecordOutcome, number>();
  readonly #metric: Counter<"outcome"> | undefined;
  #consumer: Consumer | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  #joined: Promise<void> = Promise.resolve();

  constructor(opts: KafkaBridgeOptions) {
    this.#o = opts;
    this.#topic = opts.topic ?? DEFAULT_TOPIC;
    this.#metric = opts.registry
      ? new Counter({
          name: "flywheel_kafka_records_total",
          help: "Kafka records handled by the embedded KafkaSource bridge, by outcome.",
          labelNames: ["outcome"],
          registers: [opts.registry],
        })
      : undefined;
  }

  /** Enabled by config: undefined unless FLYWHEEL_KAFKA_BROKERS is set. */
  static fromConfig(config: Pick<Config, "kafka" | "kubernetes">, deps: { bus: EventBus; log: Logger; registry?: Registry | undefined }): KafkaBridge | undefined {
    if (!config.kafka) return undefined;
    return new KafkaBridge({
      brokers: config.kafka.brokers,
      topic: config.kafka.topic,
      groupId: config.kafka.groupId,
      namespace: config.kubernetes.namespace,
      ...deps,
    });
  }

  get counts(): Readonly<Record<RecordOutcome, number>> {
    const n = (o: RecordOutcome): number => this.#counts.get(o) ?? 0;
    return { "passed-through": n("passed-through"), wrapped: n("wrapped"), poison: n("poison"), "bus-retry": n("bus-retry") };
  }

  async start(): Promise<void> {
    if (this.#consumer) return;
    const kafka = new Kafka({
      clientId: this.#o.clientId ?? "flywheel",
      brokers: [...this.#o.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 200 },
    });
    const session = this.#o.sessionTimeoutMs ?? 30_000;
    const consumer = kafka.consumer({
      groupId: this.#o.groupId,
      allowAutoTopicCreation: true,
      sessionTimeout: session,
      rebalanceTimeout: Math.max(session, 6000),
      heartbeatInterval: Math.max(100, Math.floor(session / 10)),
      // Short fetch waits keep stop() quick; the topic is low-volume.
      maxWaitTimeInMs: 1000,
    });
    this.#joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.#topic], fromBeginning: (this.#o.initialOffset ?? "earliest") === "earliest" });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.#batch(p) });
    this.#consumer = consumer;
    this.#o.log.info("kafka bridge consuming", { topic: this.#topic, group: this.#o.groupId });
  }

  /** Resolves once the consumer has joined its group and owns partitions (readiness, tests). */
  joined(): Promise<void> {
    return this.#joined;
  }

  /** Finishes the record in hand (its offset is committed), then leaves the group. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const c = this.#consumer;
    this.#consumer = undefined;
    if (c) await c.disconnect();
  }

  async #batch({ batch, resolveOffset, heartbeat, isRunning, isStale, pause, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) return;
      const done = await this.#handle(batch.topic, batch.partition, message, heartbeat);
      if (!done) {
        // The bus kept failing: leave this record unresolved (it is fetched again) and pause the partition a while.
        const resume = pause();
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resume();
        }, this.#o.pauseMs ?? 5000);
        this.#timers.add(t);
        return;
      }
      const next = (BigInt(message.offset) + 1n).toString();
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      resolveOffset(message.offset);
      await heartbeat();
    }
  }

  /** true when the record is finished (emitted, or skipped as poison); false to retry it later. */
  async #handle(topic: string, partition: number, message: KafkaRecord, heartbeat: () => Promise<void>): Promise<boolean> {
    const where = { topic, partition, offset: message.offset };
    let converted;
    try {
      converted = recordToCloudEvent(message, { topic, partition, namespace: this.#o.namespace, sourceName: this.#o.sourceName ?? "flywheel-training-requests" });
    } catch (e) {
      this.#count("poison");
      // The record body is never logged: it may carry anything.
      this.#o.log.warn("kafka bridge: poison record skipped", { ...where, ...errorFields(e) });
      return true;
    }
    const attempts = Math.max(1, this.#o.emitAttempts ?? 5);
    for (let i = 1; i <= attempts; i++) {
      try {
        await this.#o.bus.emit(converted.event);
        this.#count(converted.mode === "wrapped" ? "wrapped" : "passed-through");
        return true;
      } catch (e) {
        if (isKnownError(e) && !(e instanceof UpstreamError && e.retryable)) {
          this.#count("poison");
          this.#o.log.warn("kafka bridge: the bus rejected the record's event; skipped", { ...where, id: converted.event.id, ...errorFields(e) });
          return true;
        }
        this.#count("bus-retry");
        this.#o.log.warn("kafka bridge: bus unavailable, retrying", { ...where, attempt: i, ...errorFields(e) });
        if (i < attempts) {
          await new Promise((r) => setTimeout(r, (this.#o.retryBaseMs ?? 200) * 2 ** (i - 1)));
          await heartbeat().catch(() => undefined);
        }
      }
    }
    return false;
  }

  #count(o: RecordOutcome): void {
    this.#counts.set(o, (this.#counts.get(o) ?? 0) + 1);
    this.#metric?.inc({ outcome: o });
  }
}
