// Cron triggers: schedules validation, PingSource generation against the CRD, and the embedded scheduler's ticks.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import type { AnyCloudEvent } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { CronScheduler, intentFromPing, parseSchedules, parseSchedulesYaml, pingSourcesFromSchedules, type Schedule } from "../../../triggers/cron/index.ts";
import { crdErrors } from "../../support/crds.ts";
import { ManualClock } from "./manual-clock.ts";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const log = createLogger("silent");

function issues(raw: unknown): string[] {
  try {
    parseSchedules(raw);
  } catch (e) {
    if (e instanceof ValidationError) return e.issues.map((i) => i.field);
    throw e;
  }
  return [];
}

const ok = { name: "iris-nightly", model: "iris", schedule: "30 2 * * *", timezone: "Europe/Berlin" };

describe("schedules file", () => {
  it("the shipped schedules.yaml is valid", () => {
    const list = parseSchedulesYaml(fs.readFileSync(path.join(root, "triggers/cron/schedules.yaml"), "utf8"));
    expect(list.length).toBeGreaterThan(0);
  });

  it("defaults the timezone to UTC", () => {
    expect(parseSchedules([{ name: "a", model: "iris", schedule: "* * * * *" }])[0]?.timezone).toBe("UTC");
  });

  it.each([
    ["not a list", { name: "x" }, "(root)"],
    ["bad name", [{ ...ok, name: "Iris_Nightly" }], "[0].name"],
    ["missing model", [{ ...ok, model: undefined }], "[0].model"],
    ["six fields", [{ ...ok, schedule: "0 30 2 * * *" }], "[0].schedule"],
    ["minute 61", [{ ...ok, schedule: "61 2 * * *" }], "[0].schedule"],
    ["unknown time zone", [{ ...ok, timezone: "Mars/Olympus" }], "[0].timezone"],
    ["unknown spec field", [{ ...ok, spec: { epochs: 3 } }], "[0].spec.epochs"],
    ["model in spec", [{ ...ok, spec: { model: "x" } }], "[0].spec.model"],
    ["bad spec value", [{ ...ok, spec: { timeoutSeconds: -1 } }], "[0].spec.timeoutSeconds"],
    ["duplicate names", [ok, { ...ok, model: "wine" }], "[1].name"],
    ["unknown key", [{ ...ok, cron: "x" }], "[0]"],
  ])("%s -> error on %s", (_n, raw, field) => {
    expect(issues(raw)).toContain(field);
  });

  it("bad YAML is a ValidationError too", () => {
    expect(() => parseSchedulesYaml("- name: [")).toThrow(ValidationError);
  });
});

describe("pingSourcesFromSchedules", () => {
  it("produces PingSources valid against the CRD, with the ping data the mapping reads", () => {
    const schedules = parseSchedules([ok, { name: "wine-hourly", model: "wine", schedule: "0 * * * *", spec: { params: { lr: "0.01" } } }]);
    const objs = pingSourcesFromSchedules(schedules, { namespace: "flywheel" });
    for (const o of objs) expect(crdErrors(o)).toEqual([]);
    expect(objs[0]?.spec).toMatchObject({ schedule: "30 2 * * *", timezone: "Europe/Berlin", contentType: "application/json", sink: { ref: { kind: "Broker", name: "default" } } });
    expect(JSON.parse(objs[1]?.spec.data ?? "")).toEqual({ model: "wine", schedule: "wine-hourly", overrides: { params: { lr: "0.01" } } });
  });
});

describe("CronScheduler", () => {
  function setup(schedules: Schedule[], start = "2026-11-29T00:59:30Z") {
    const clock = new ManualClock(start);
    const events: AnyCloudEvent[] = [];
    const bus = { emit: async (e: AnyCloudEvent) => void events.push(e) };
    const scheduler = new CronScheduler({ bus, schedules, namespace: "flywheel", log, clock });
    return { clock, events, scheduler };
  }
  const flush = () => new Promise((r) => setImmediate(r));

  it("emits the PingSource event shape at each cron time, in the schedule's time zone", async () => {
    // 02:30 Europe/Berlin = 01:30 UTC in November
    const { clock, events, scheduler } = setup(parseSchedules([{ ...ok, spec: { params: { epochs: "5" } } }]));
    scheduler.start();
    expect(scheduler.list()[0]?.nextRun).toBe("2026-11-29T01:30:00.000Z");
    clock.advance(30 * 60_000 + 30_000 - 1);
    await flush();
    expect(events).toHaveLength(0);
    clock.advance(1);
    await flush();
    expect(events).toHaveLength(1);
    const ev = events[0];
    expect(ev?.type).toBe("dev.knative.sources.ping");
    expect(ev?.source).toBe("/apis/v1/namespaces/flywheel/pingsources/iris-nightly");
    expect(ev?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ev?.time).toBe("2026-11-29T01:30:00.000Z");
    expect(ev?.datacontenttype).toBe("application/json");
    expect(ev?.data).toEqual({ model: "iris", schedule: "iris-nightly", overrides: { params: { epochs: "5" } } });
    // ...and the trigger mapping reads it back.
    if (ev) expect(intentFromPing(ev)).toMatchObject({ model: "iris", overrides: { params: { epochs: "5" } }, trigger: { reason: "schedule", schedule: "iris-nightly", eventId: ev.id } });
    clock.advance(24 * 3600_000);
    await flush();
    expect(events).toHaveLength(2);
    expect(events[1]?.id).not.toBe(ev?.id);
    scheduler.stop();
  });

  it("every-minute schedule ticks once a minute", async () => {
    const { clock, events, scheduler } = setup(parseSchedules([{ name: "m", model: "iris", schedule: "* * * * *" }]));
    scheduler.start();
    clock.advance(10 * 60_000);
    await flush();
    expect(events.map((e) => e.time)).toHaveLength(10);
    expect(events[0]?.time).toBe("2026-11-29T01:00:00.000Z");
    scheduler.stop();
  });

  it("does not replay ticks missed while stopped (as PingSource)", async () => {
    const { clock, events, scheduler } = setup(parseSchedules([{ name: "m", model: "iris", schedule: "*/5 * * * *" }]));
    scheduler.start();
    clock.advance(60_000); // 01:00:30 -> one tick at 01:00
    await flush();
    expect(events).toHaveLength(1);
    scheduler.stop();
    clock.jump(60 * 60_000); // down for an hour: 12 ticks missed
    scheduler.start();
    await flush();
    expect(events).toHaveLength(1);
    clock.advance(5 * 60_000);
    await flush();
    expect(events).toHaveLength(2);
    scheduler.stop();
    expect(clock.pending).toBe(0);
  });

  it("a late wake-up (process asleep) fires once, not once per missed tick", async () => {
    const { clock, events, scheduler } = setup(parseSchedules([{ name: "m", model: "iris", schedule: "* * * * *" }]));
    scheduler.start();
    clock.jump(30 * 60_000);
    clock.advance(0);
    await flush();
    expect(events).toHaveLength(1);
    scheduler.stop();
  });

  it("reload() and trigger()", async () => {
    const { clock, events, scheduler } = setup(parseSchedules([{ name: "m", model: "iris", schedule: "0 0 1 1 *" }]));
    scheduler.start();
    scheduler.reload(parseSchedules([{ name: "n", model: "wine", schedule: "* * * * *" }]));
    clock.advance(60_000);
    await flush();
    expect(events.map((e) => e.source)).toEqual(["/apis/v1/namespaces/flywheel/pingsources/n"]);
    await scheduler.trigger("n");
    expect(events).toHaveLength(2);
    expect(await scheduler.trigger("nope")).toBeUndefined();
    scheduler.stop();
  });

  it("a manual trigger fails loudly when the bus is down; a timed tick is logged and dropped", async () => {
    const clock = new ManualClock("2026-11-29T00:59:30Z");
    const scheduler = new CronScheduler({ bus: { emit: async () => Promise.reject(new Error("down")) }, schedules: parseSchedules([{ name: "m", model: "iris", schedule: "* * * * *" }]), namespace: "flywheel", log, clock, emitAttempts: 1 });
    await expect(scheduler.trigger("m")).rejects.toMatchObject({ name: "UpstreamError", retryable: true });
    scheduler.start();
    clock.advance(60_000);
    await flush();
    expect(scheduler.list()[0]?.lastRun).toBe("2026-11-29T01:00:00.000Z");
    scheduler.stop();
  });
});
