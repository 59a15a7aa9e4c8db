// E2E: schedules file -> CronScheduler (injected clock) -> ping over HTTP (binary CloudEvent, as PingSource delivers)
// -> retrain-on-drift served by a real HTTP server -> training.requested with the champion's spec plus the overrides.
import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRetrainDeps, retrainOnDrift, StateRetrainStore } from "../../../functions/retrain-on-drift/index.ts";
import { openSqliteState } from "../../../platform/state/index.ts";
import { HttpEventBus } from "../../../platform/bus/http.ts";
import { parseEventAs } from "../../../platform/events/index.ts";
import { cloudEventRoute } from "../../../platform/fn/hono.ts";
import { createLogger } from "../../../platform/log.ts";
import { CronScheduler, loadSchedules } from "../../../triggers/cron/index.ts";
import { FakeRegistry, IRIS_SPEC, MemoryBus } from "../../unit/retrain/fakes.ts";
import { ManualClock } from "../../unit/triggers/manual-clock.ts";

const log = createLogger("silent");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-cron-e2e-"));
const bus = new MemoryBus();
const registry = new FakeRegistry();
let server: ServerType;
let url = "";

beforeAll(async () => {
  registry.addVersion("iris", IRIS_SPEC);
  registry.addVersion("orphan", undefined);
  const deps = createRetrainDeps({ bus, registry, log, store: new StateRetrainStore(await openSqliteState(path.join(dir, "state", "state.sqlite")), { owns: true }) });
  const app = cloudEventRoute("retrain-on-drift", retrainOnDrift, deps);
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("cron -> ping -> retrain", () => {
  it("an every-minute schedule triggers a retrain with the right spec; a model without lineage is a recorded skip", async () => {
    const file = path.join(dir, "schedules.yaml");
    fs.writeFileSync(
      file,
      [
        "- name: iris-every-minute",
        "  model: iris",
        '  schedule: "* * * * *"',
        "  timezone: America/New_York",
        "  spec:",
        "    params: {epochs: \"7\"}",
        "    timeoutSeconds: 120",
        "- name: orphan-hourly",
        "  model: orphan",
        '  schedule: "0 * * * *"',
        "",
      ].join("\n"),
    );
    const clock = new ManualClock("2026-11-29T21:59:45Z");
    const scheduler = new CronScheduler({ bus: new HttpEventBus({ url }), schedules: loadSchedules(file), namespace: "flywheel", log, clock });
    scheduler.start();
    clock.advance(15_000); // 22:00:00: both fire
    await until(() => bus.ofType("dev.flywheel.retrain.decided").length >= 2, "two decisions");

    const requests = bus.ofType("dev.flywheel.training.requested").map((e) => parseEventAs("training.requested", e).data);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      model: "iris",
      command: IRIS_SPEC.command,
      params: { epochs: "7", lr: "0.1" },
      timeoutSeconds: 120,
      trigger: { reason: "schedule", schedule: "iris-every-minute" },
    });
    const decisions = bus.ofType("dev.flywheel.retrain.decided").map((e) => parseEventAs("retrain.decided", e).data);
    expect(decisions.map((d) => `${d.model}:${d.decision}:${d.reason}`).sort()).toEqual(["iris:started:started", "orphan:skipped:no-lineage"]);

    // The next minute: a new ping (fresh id), a second training; the hourly one stays quiet.
    clock.advance(60_000);
    await until(() => bus.ofType("dev.flywheel.training.requested").length >= 2, "second training");
    expect(bus.ofType("dev.flywheel.retrain.decided")).toHaveLength(3);
    scheduler.stop();
  });
});
