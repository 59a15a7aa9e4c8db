// One trace per cause, on the full embedded platform: after the Iris loop is up, one drift alert through the
// Alertmanager webhook yields a retrain whose spans (alert -> training -> registry -> deployment) share one trace id.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../../platform/cli/commands/demo.ts";
import { createTelemetry, SPAN_NAMES, type Telemetry } from "../../../platform/telemetry/index.ts";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const quiet = { line: () => undefined, json: () => undefined, error: () => undefined };
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let p: TestPlatform;

beforeAll(async () => {
  // Started before the platform: the global tracer provider is what cloudEventRoute and the buses use.
  telemetry = await createTelemetry({ functionName: "flywheel", exporter, instrumentFetch: false });
  // This test follows one retrain's trace, not its data: the new-data policy is off (no feedback is sent here).
  const policies = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "loop-trace-")), "policies.yaml");
  fs.writeFileSync(policies, "defaults:\n  retrain: {requireNewData: false}\n");
  p = await startTestPlatform({ FLYWHEEL_POLICIES_FILE: policies });
  await runDemo(p.api, repoRoot, quiet, true);
  await p.platform.broker.idle();
}, 180_000);

afterAll(async () => {
  await p?.stop();
  await telemetry?.shutdown();
});

describe("tracing across the embedded loop", () => {
  it("a drift alert's retrain is one trace from the alert to the registry and deployment decision", async () => {
    exporter.reset();
    const now = new Date().toISOString();
    const webhook = {
      version: "4",
      groupKey: "{}:{alertname=\"ModelDriftDetected\"}",
      truncatedAlerts: 0,
      status: "firing",
      receiver: "flywheel",
      groupLabels: { alertname: "ModelDriftDetected" },
      commonLabels: { alertname: "ModelDriftDetected", model: "iris", version: "1" },
      commonAnnotations: {},
      externalURL: "http://alertmanager.local",
      alerts: [
        {
          status: "firing",
          labels: { alertname: "ModelDriftDetected", model: "iris", version: "1", severity: "warning", flywheel_action: "retrain" },
          annotations: { summary: "iris drifts" },
          startsAt: now,
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "http://prometheus.local/graph",
          fingerprint: "trace0000000001",
        },
      ],
    };
    const res = await p.api.raw("POST", "/hooks/alertmanager", JSON.stringify(webhook), { "content-type": "application/json" });
    expect(res.status).toBeLessThan(300);
    await p.platform.broker.idle();
    const names0 = exporter.getFinishedSpans().map((s) => s.name);
    expect(
      names0.includes(SPAN_NAMES.producer("dev.flywheel.alert.firing")),
      "no PRODUCER span for the alert: the embedded bus must be traced — `const bus: EventBus = tracedBus(broker)` in platform/app/embedded.ts",
    ).toBe(true);
    // The retrain ends at the registry gate: promoted (then deployed) or rejected against the champion.
    const names = (): string[] => exporter.getFinishedSpans().map((s) => s.name);
    await until(
      "the retrain to reach the gate",
      async () => {
        await p.platform.broker.idle();
        const n = names();
        const deployed = n.includes(SPAN_NAMES.consumer("dev.flywheel.model.promoted")) && n.some((x) => x.startsWith(SPAN_NAMES.producer("dev.flywheel.deployment.")));
        return deployed || n.includes(SPAN_NAMES.producer("dev.flywheel.model.rejected")) ? true : undefined;
      },
      120_000,
      250,
    );
    const spans = exporter.getFinishedSpans().filter((s) => s.name.startsWith("CloudEvents "));
    const alert = spans.find((s) => s.name === SPAN_NAMES.consumer("dev.flywheel.alert.firing"));
    expect(alert, names().join("\n")).toBeDefined();
    const traceId = alert!.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const kinds = (type: string) => inTrace.filter((s) => s.attributes["cloudevents.event_type"] === type).map((s) => SpanKind[s.kind]).sort();
    // alert -> retrain decision -> training -> registry (model logged and gated) -> deployment, all in one trace.
    expect(kinds("dev.flywheel.alert.firing")).toEqual(["CONSUMER", "PRODUCER"]);
    expect(kinds("dev.flywheel.training.requested")).toEqual(["CONSUMER", "PRODUCER"]);
    expect(kinds("dev.flywheel.training.succeeded")).toContain("CONSUMER");
    expect(kinds("dev.flywheel.model.logged")).toContain("PRODUCER");
    const gate = [...kinds("dev.flywheel.model.promoted"), ...kinds("dev.flywheel.model.rejected")];
    expect(gate).toContain("PRODUCER");
    if (kinds("dev.flywheel.model.promoted").includes("CONSUMER")) {
      expect(inTrace.some((s) => String(s.attributes["cloudevents.event_type"]).startsWith("dev.flywheel.deployment.") && s.kind === SpanKind.PRODUCER)).toBe(true);
    }
    // Nothing of this retrain leaked into another trace.
    const retrainTypes = ["dev.flywheel.training.requested", "dev.flywheel.training.succeeded", "dev.flywheel.model.logged"];
    expect(spans.filter((s) => retrainTypes.includes(String(s.attributes["cloudevents.event_type"])) && s.spanContext().traceId !== traceId)).toEqual([]);
  }, 150_000);
});
