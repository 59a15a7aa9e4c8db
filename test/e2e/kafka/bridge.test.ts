// E2E: KafkaBridge against a real Kafka-protocol broker (kcat mock cluster): CloudEvent and plain records each give one
// training; a restart of the bridge loses nothing and processes nothing twice; poison records are skipped once.
import { CloudEvent } from "cloudevents";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRetrainDeps, MemoryRetrainStore, retrainOnDrift, type RetrainDeps } from "../../../functions/retrain-on-drift/index.ts";
import { KAFKA_EVENT_TYPE, parseEventAs, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { KafkaBridge } from "../../../triggers/kafka/index.ts";
import { FakeRegistry, IRIS_SPEC, MemoryBus } from "../../unit/retrain/fakes.ts";
import { startMockCluster, type MockCluster } from "./mock-cluster.ts";

const TOPIC = "flywheel.training.requests";
const log = createLogger(process.env.FLYWHEEL_E2E_DEBUG ? "debug" : "silent");
let cluster: MockCluster;
let producer: Producer;

beforeAll(async () => {
  cluster = await startMockCluster(TOPIC);
  const kafka = new Kafka({ clientId: "e2e-producer", brokers: [cluster.broker], logLevel: logLevel.NOTHING });
  producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await cluster?.stop();
});

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function platform() {
  const registry = new FakeRegistry();
  registry.addVersion("iris", IRIS_SPEC);
  const bus = new MemoryBus();
  const deps: RetrainDeps = createRetrainDeps({ bus, registry, store: new MemoryRetrainStore(), log });
  // The broker's trigger for dev.knative.kafka.event -> retrain-on-drift.
  bus.subscribers.push(async (e) => {
    if (e.type === KAFKA_EVENT_TYPE) await retrainOnDrift(e, deps);
  });
  return { bus };
}

const ceRecord = (id: string) => {
  const ce = new CloudEvent<unknown>({ specversion: "1.0", id, source: "/e2e/airflow", type: "dev.flywheel.training.requested", datacontenttype: "application/json", data: { ...IRIS_SPEC, trigger: { reason: "api", eventId: id } } });
  return { value: JSON.stringify(ce.data), headers: { ce_specversion: "1.0", ce_id: ce.id, ce_source: ce.source, ce_type: ce.type, "content-type": "application/json" } };
};
const plainRecord = (params: Record<string, string>) => ({ key: "iris", value: JSON.stringify({ model: "iris", params }) });

const trainings = (bus: MemoryBus): AnyCloudEvent[] => bus.ofType("dev.flywheel.training.requested");

describe("KafkaBridge on a real Kafka-protocol broker", () => {
  it("each record triggers exactly one training, across a bridge restart, with poison records skipped", async () => {
    const { bus } = platform();
    const groupId = `flywheel-e2e-${Date.now()}`;
    const bridge = () => new KafkaBridge({ brokers: [cluster.broker], topic: TOPIC, groupId, bus, log, namespace: "flywheel", retryBaseMs: 50, pauseMs: 300, sessionTimeoutMs: 6000 });

    const first = bridge();
    await first.start();
    await producer.send({ topic: TOPIC, messages: [ceRecord("airflow-run-1"), plainRecord({ epochs: "11" })] });
    await until(() => trainings(bus).length >= 2, "two trainings");
    const before = trainings(bus).map((e) => parseEventAs("training.requested", e).data);
    expect(before.map((d) => d.trigger?.reason).sort()).toEqual(["api", "kafka"]);
    expect(before.find((d) => d.trigger?.reason === "kafka")?.params).toEqual({ epochs: "11", lr: "0.1" });
    expect(first.counts).toMatchObject({ "passed-through": 1, wrapped: 1, poison: 0 });
    await first.stop();

    // While the bridge is down: a poison record, a plain record, a CloudEvent record; the bus also fails twice.
    await producer.send({
      topic: TOPIC,
      messages: [
        { value: "{not json", headers: { "content-type": "application/cloudevents+json" } },
        plainRecord({ epochs: "22" }),
        ceRecord("airflow-run-2"),
      ],
    });
    bus.failNext = 2;
    const second = bridge();
    await second.start();
    await until(() => trainings(bus).length >= 4, "four trainings");
    // Give any stray redelivery a moment to show up.
    await new Promise((r) => setTimeout(r, 1500));
    await second.stop();

    const all = trainings(bus);
    expect(all).toHaveLength(4);
    expect(new Set(all.map((e) => e.id)).size).toBe(4);
    expect(second.counts.poison).toBe(1);
    expect(second.counts["bus-retry"]).toBe(2);
    expect(second.counts.wrapped + second.counts["passed-through"]).toBe(2);
    // Every wrapped record reached retrain-on-drift once: one kafka event per offset.
    const wrapped = bus.ofType(KAFKA_EVENT_TYPE).map((e) => e.id);
    expect(new Set(wrapped).size).toBe(wrapped.length);

    // A third start finds nothing left to do: every offset was committed.
    const third = bridge();
    await third.start();
    await third.joined();
    await new Promise((r) => setTimeout(r, 2000));
    await third.stop();
    expect(third.counts).toEqual({ "passed-through": 0, wrapped: 0, poison: 0, "bus-retry": 0 });
    expect(trainings(bus)).toHaveLength(4);
  });
});
