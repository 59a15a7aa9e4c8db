// Eventing in the rendered manifests: one dialect per filter element, every subscriber and dead-letter sink exists as a
// Knative Service, delivery is set, PingSources mirror the schedules file, sources point at the broker.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadSchedules } from "../../../triggers/cron/schedules.ts";
import { pingData } from "../../../triggers/cron/schedules.ts";
import { FILTER_DIALECTS } from "../../../platform/eventing/filters.ts";
import { ROOT } from "../../../platform/manifests/generate.ts";
import { OVERLAYS, renderObjects, type K8sObject } from "../../../platform/manifests/index.ts";
import { CANARY_CHECK_SOURCE } from "../../../platform/manifests/eventing.ts";

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Problems with one filter element and its nested ones: exactly one dialect key, a known one. */
function dialectProblems(f: unknown, where: string): string[] {
  if (!isMap(f)) return [`${where}: not an object`];
  const keys = Object.keys(f);
  const out: string[] = [];
  if (keys.length !== 1) out.push(`${where}: ${keys.length} dialects (${keys.join(", ")}); exactly one allowed`);
  for (const k of keys) {
    if (!(FILTER_DIALECTS as readonly string[]).includes(k)) out.push(`${where}: unknown dialect ${k}`);
    const v = f[k];
    if (k === "all" || k === "any") (Array.isArray(v) ? v : []).forEach((x, i) => out.push(...dialectProblems(x, `${where}.${k}[${i}]`)));
    if (k === "not") out.push(...dialectProblems(v, `${where}.not`));
    if ((k === "exact" || k === "prefix" || k === "suffix") && isMap(v)) {
      for (const attr of Object.keys(v)) if (!/^[a-z0-9]+$/.test(attr)) out.push(`${where}.${k}: attribute ${attr} is not lowercase alphanumeric`);
    }
  }
  return out;
}

describe("the dialect rule itself", () => {
  it.each([
    [{ exact: { type: "a" } }, 0],
    [{ exact: { type: "a" }, prefix: { source: "/x" } }, 1],
    [{ any: [{ exact: { type: "a" } }, { suffix: { type: "b" }, exact: { type: "c" } }] }, 1],
    [{ not: { cesql: "type = 'x'" } }, 0],
    [{ exact: { Type: "a" } }, 1],
  ])("%j -> %i problems", (f, n) => expect(dialectProblems(f, "f")).toHaveLength(n));
});

describe.each(OVERLAYS)("eventing in overlay %s", (overlay) => {
  const objs = renderObjects(overlay);
  const ksvcs = new Set(objs.filter((o) => o.apiVersion === "serving.knative.dev/v1" && o.kind === "Service").map((o) => o.metadata.name));
  const triggers = objs.filter((o) => o.kind === "Trigger");
  const spec = (o: K8sObject): Record<string, unknown> => (isMap(o.spec) ? o.spec : {});

  it("has triggers with one dialect per filter element", () => {
    expect(triggers.length).toBeGreaterThan(0);
    const problems = triggers.flatMap((t) => {
      const s = spec(t);
      return Array.isArray(s.filters) ? s.filters.flatMap((f, i) => dialectProblems(f, `${t.metadata.name}.filters[${i}]`)) : [];
    });
    expect(problems).toEqual([]);
  });

  it("routes every trigger to an existing Knative Service, with retries, exponential backoff and the dead-letter sink", () => {
    for (const t of triggers) {
      const s = spec(t);
      const sub = isMap(s.subscriber) && isMap(s.subscriber.ref) ? s.subscriber.ref : {};
      expect(sub.kind, t.metadata.name).toBe("Service");
      expect(ksvcs.has(String(sub.name)), `${t.metadata.name} -> ${String(sub.name)}`).toBe(true);
      expect(s.broker).toBe("default");
      const d = isMap(s.delivery) ? s.delivery : {};
      expect(d.retry, t.metadata.name).toBeGreaterThan(0);
      expect(d.backoffPolicy).toBe("exponential");
      expect(String(d.backoffDelay)).toMatch(/^PT/);
      const dls = isMap(d.deadLetterSink) && isMap(d.deadLetterSink.ref) ? d.deadLetterSink.ref : {};
      expect(ksvcs.has(String(dls.name)), `dead-letter sink of ${t.metadata.name}`).toBe(true);
    }
  });

  it("has one Broker with the expected class and sources that sink to it", () => {
    const brokers = objs.filter((o) => o.kind === "Broker");
    expect(brokers).toHaveLength(1);
    const cls = brokers[0]!.metadata.annotations?.["eventing.knative.dev/broker.class"];
    expect(cls).toBe(overlay === "kafka" ? "Kafka" : "MTChannelBasedBroker");
    const sources = objs.filter((o) => ["PingSource", "ApiServerSource", "KafkaSource"].includes(o.kind));
    expect(sources.some((o) => o.kind === "ApiServerSource")).toBe(true);
    expect(sources.some((o) => o.kind === "KafkaSource")).toBe(overlay === "kafka");
    for (const src of sources) {
      const sink = isMap(spec(src).sink) ? (spec(src).sink as Record<string, unknown>).ref : undefined;
      // The canary check wakes deploy-model directly: retrain-on-drift's ping trigger must not see it.
      if (src.metadata.name === CANARY_CHECK_SOURCE) expect(sink).toMatchObject({ kind: "Service", name: "deploy-model" });
      else expect(sink, src.metadata.name).toMatchObject({ kind: "Broker", name: "default" });
    }
    // Training status reaches launch-training through a trigger (retries, dead-letter sink) like every event.
    const status = triggers.filter((t) => JSON.stringify(spec(t).filters ?? spec(t).filter ?? {}).includes("dev.knative.apiserver.resource."));
    // The event history: exactly one Trigger without any filter, to the event-log sink.
    const unfiltered = triggers.filter((t) => spec(t).filters === undefined && spec(t).filter === undefined);
    expect(unfiltered.map((t) => (spec(t).subscriber as { ref: { name: string } }).ref.name)).toEqual(["event-log"]);
    expect(status.map((t) => (spec(t).subscriber as { ref: { name: string } }).ref.name)).toEqual(["launch-training"]);
  });

  it("has one PingSource per schedule, carrying the same data the embedded scheduler sends", () => {
    const schedules = loadSchedules(path.join(ROOT, "triggers/cron/schedules.yaml"));
    const pings = objs.filter((o) => o.kind === "PingSource" && o.metadata.name !== CANARY_CHECK_SOURCE);
    expect(objs.filter((o) => o.metadata.name === CANARY_CHECK_SOURCE).map((o) => spec(o).schedule)).toEqual(["* * * * *"]);
    expect(pings.map((p) => p.metadata.name).sort()).toEqual(schedules.map((s) => s.name).sort());
    for (const s of schedules) {
      const p = spec(pings.find((x) => x.metadata.name === s.name)!);
      expect(p.schedule).toBe(s.schedule);
      expect(p.timezone).toBe(s.timezone ?? "UTC");
      expect(JSON.parse(String(p.data))).toEqual(pingData(s));
    }
  });

  it("watches the training kinds of its operator for status", () => {
    const src = spec(objs.find((o) => o.kind === "ApiServerSource")!);
    const kinds = (Array.isArray(src.resources) ? src.resources : []).map((r) => (isMap(r) ? r.kind : undefined));
    expect(kinds).toContain("Job");
    expect(kinds).toContain("SparkApplication");
    expect(kinds).toContain(overlay === "trainjob" ? "TrainJob" : "PyTorchJob");
    expect(kinds).toContain("Pod");
    // The account it runs as may read every kind it watches.
    const role = objs.filter((o) => o.kind === "Role" && o.metadata.name.startsWith("training-status-source"));
    const readable = new Set(role.flatMap((r) => (r.rules as { resources: string[] }[]).flatMap((x) => x.resources)));
    for (const k of ["jobs", "sparkapplications", "pods", overlay === "trainjob" ? "trainjobs" : "pytorchjobs"]) expect(readable.has(k), k).toBe(true);
    expect(src.serviceAccountName).toBe("training-status-source");
    expect(src.mode).toBe("Resource");
  });
});
