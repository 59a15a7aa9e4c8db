// One trace per cause: a chain of handlers mounted with cloudEventRoute, emitting through tracedBus, yields one trace id
// with CONSUMER/PRODUCER spans parented across hops (in-memory exporter, real NodeSDK, real HTTP encoding).
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { CloudEvent } from "cloudevents";
import type { Hono } from "hono";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHttpBinary, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { cloudEventRoute } from "../../../platform/fn/hono.ts";
import type { BaseDeps, CloudEventHandler } from "../../../platform/fn/types.ts";
import { createLogger } from "../../../platform/log.ts";
import type { EventBus } from "../../../platform/ports.ts";
import {
  createFunctionMetrics,
  createTelemetry,
  formatTraceparent,
  parseTraceparent,
  SPAN_NAMES,
  tracedBus,
  withServerSpan,
  type Telemetry,
} from "../../../platform/telemetry/index.ts";

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;

beforeAll(async () => {
  telemetry = await createTelemetry({ functionName: "chain-test", exporter, instrumentFetch: false });
});
afterAll(async () => {
  await telemetry.shutdown();
});

/** A broker in miniature: routes each emitted event by type to a mounted route over real binary-mode HTTP. */
function miniBroker(routes: Map<string, Hono>, delivered: AnyCloudEvent[]): EventBus {
  return {
    async emit(ce) {
      delivered.push(ce);
      const app = routes.get(ce.type);
      if (!app) return;
      const { headers, body } = toHttpBinary(ce);
      const res = await app.request("/", { method: "POST", headers, body });
      if (res.status !== 200) throw new Error(`delivery of ${ce.type} got ${res.status}`);
    },
  };
}

function relay(next: string): CloudEventHandler<BaseDeps> {
  return async (event, deps) => {
    const out = new CloudEvent<unknown>({
      type: next,
      source: "/flywheel/test",
      id: `${event.id}-${next}`,
      data: { from: event.id },
      // buildEvent carries the cause's traceparent the same way; tracedBus replaces it with the PRODUCER span's.
      ...(typeof event.traceparent === "string" ? { traceparent: event.traceparent } : {}),
    });
    await deps.bus.emit(out);
    return { status: "done", emitted: [out.id] };
  };
}

const byId = (spans: ReadableSpan[]) => new Map(spans.map((s) => [s.spanContext().spanId, s]));
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("trace propagation through cloudEventRoute + tracedBus", () => {
  it("alert -> training -> registry -> deployment is one trace with alternating PRODUCER/CONSUMER spans", async () => {
    exporter.reset();
    const chain = [
      "dev.flywheel.alert.firing",
      "dev.flywheel.training.requested",
      "dev.flywheel.training.succeeded",
      "dev.flywheel.model.promoted",
      "dev.flywheel.deployment.ready",
    ];
    const routes = new Map<string, Hono>();
    const delivered: AnyCloudEvent[] = [];
    const log = createLogger("silent");
    const bus = tracedBus(miniBroker(routes, delivered), { tracer: telemetry.tracer });
    const registry = new Registry();
    const metrics = createFunctionMetrics(registry);
    for (let i = 0; i < chain.length - 1; i++) {
      const deps: BaseDeps = { bus, log, now: () => 0 };
      routes.set(chain[i]!, cloudEventRoute(`fn${i}`, relay(chain[i + 1]!), deps, { tracer: telemetry.tracer, metrics }));
    }
    // The Alertmanager trigger's side: a SERVER span for the webhook, and a PRODUCER span for the alert event.
    const first = new CloudEvent<unknown>({ type: chain[0]!, source: "/flywheel/triggers/alertmanager", id: "alert-1", data: {} });
    await withServerSpan(telemetry.tracer, { method: "POST", route: "/hooks/alertmanager", headers: {} }, () => bus.emit(first));
    await telemetry.forceFlush();

    const spans = exporter.getFinishedSpans();
    const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
    expect(traceIds.size).toBe(1);
    const server = spans.filter((s) => s.kind === SpanKind.SERVER);
    const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER);
    const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(server.map((s) => s.name)).toEqual(["POST /hooks/alertmanager"]);
    expect(producers.map((s) => s.name).sort()).toEqual(chain.map(SPAN_NAMES.producer).sort());
    expect(consumers.map((s) => s.name).sort()).toEqual(chain.slice(0, -1).map(SPAN_NAMES.consumer).sort());

    // Walk up from the last PRODUCER span: it must reach the SERVER span through every hop, in order.
    const index = byId(spans);
    const last = producers.find((s) => s.name === SPAN_NAMES.producer(chain.at(-1)!))!;
    const path: string[] = [];
    for (let s: ReadableSpan | undefined = last; s; s = index.get(parentOf(s) ?? "")) path.push(`${SpanKind[s.kind]} ${s.name}`);
    const expected = ["SERVER POST /hooks/alertmanager"];
    for (let i = 0; i < chain.length; i++) {
      expected.push(`PRODUCER ${SPAN_NAMES.producer(chain[i]!)}`);
      if (i < chain.length - 1) expected.push(`CONSUMER ${SPAN_NAMES.consumer(chain[i]!)}`);
    }
    expect(path.reverse()).toEqual(expected);

    // Each delivered event's traceparent names the PRODUCER span that sent it.
    for (const ce of delivered) {
      const sc = parseTraceparent(ce.traceparent);
      expect(sc, ce.type).toBeDefined();
      const producer = index.get(sc!.spanId);
      expect(producer?.kind).toBe(SpanKind.PRODUCER);
      expect(producer?.attributes["cloudevents.event_id"]).toBe(ce.id);
    }

    const consumer = consumers.find((s) => s.name === SPAN_NAMES.consumer(chain[1]!))!;
    expect(consumer.attributes).toMatchObject({
      "messaging.system": "knative",
      "messaging.operation": "process",
      "messaging.operation.type": "process",
      "cloudevents.event_type": chain[1],
      "cloudevents.event_source": "/flywheel/test",
      "flywheel.function": "fn1",
      "flywheel.outcome": "done",
    });
    const text = await registry.metrics();
    expect(text).toMatch(/flywheel_function_invocations_total\{function="fn0",outcome="success"\} 1/);
    expect(text).toMatch(/flywheel_function_cold_starts_total\{function="fn3"\} 1/);
  });

  it("continues a trace that arrives in the event's traceparent, and ignores a malformed one", async () => {
    exporter.reset();
    const log = createLogger("silent");
    const handled: string[] = [];
    const handler: CloudEventHandler<BaseDeps> = async (event) => {
      handled.push(event.id);
      return { status: "done" };
    };
    const bus: EventBus = { emit: async () => undefined };
    const registry = new Registry();
    const metrics = createFunctionMetrics(registry);
    const app = cloudEventRoute("sink", handler, { bus, log, now: () => 0 }, { tracer: telemetry.tracer, metrics });
    const upstream = formatTraceparent({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 });
    for (const [id, tp] of [["a", upstream], ["b", "00-zzzz-bad"]] as const) {
      const ce = new CloudEvent<unknown>({ type: "dev.flywheel.model.logged", source: "/x", id, data: {}, traceparent: tp });
      const { headers, body } = toHttpBinary(ce);
      expect((await app.request("/", { method: "POST", headers, body })).status).toBe(200);
    }
    const bad = await app.request("/", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(bad.status).toBe(400);
    await telemetry.forceFlush();
    const [a, b] = exporter.getFinishedSpans();
    expect(a?.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(a?.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(b?.parentSpanContext).toBeUndefined();
    expect(b?.spanContext().traceId).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(handled).toEqual(["a", "b"]);
    const text = await registry.metrics();
    expect(text).toMatch(/flywheel_function_invocations_total\{function="sink",outcome="rejected"\} 1/);
    expect(text).toMatch(/flywheel_function_cold_starts_total\{function="sink"\} 1\n/);
  });
});
