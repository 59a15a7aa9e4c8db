// Knative mode's inference log: one CloudEvent per sampled request after KServe's payload-logger convention, through
// the HTTP binding and back, written by the sink into the same day-partitioned layout (a replay writes nothing).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fromHttp, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { CloudEventLogSink, FileInferenceLog, InferenceLogger, KSERVE_RESPONSE_TYPE, requestIds, writeLogEvent, LoggingPolicySchema } from "../../../platform/inference-log/index.ts";
import { ValidationError } from "../../../platform/errors.ts";
import { createLogger } from "../../../platform/log.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "knative-log-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("KServe-convention inference log events", () => {
  it("emits one event per sampled request that the sink writes once", async () => {
    const emitted: AnyCloudEvent[] = [];
    const ids = requestIds("a-secret-of-enough-length");
    const logger = new InferenceLogger({
      ids,
      sink: new CloudEventLogSink({ bus: { emit: async (e) => void emitted.push(e) }, namespace: "flywheel", source: "/apis/v1/namespaces/flywheel/services/infer" }),
      policyFor: () => LoggingPolicySchema.parse({ drop: ["name"] }),
      hashKey: "k",
      log: createLogger("silent"),
      now: () => Date.parse("2026-12-06T10:00:00Z"),
    });
    const id = logger.issue("iris");
    logger.record({ requestId: id, deployment: "iris", model: "iris", version: "2", rows: [{ name: "Ann", x: 1.5 }], predictions: ["setosa"], classes: ["setosa", "versicolor"] });
    for (let i = 0; i < 20 && emitted.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const ce = emitted[0];
    expect(ce).toMatchObject({ type: KSERVE_RESPONSE_TYPE, id, inferenceservicename: "iris", namespace: "flywheel", component: "predictor", endpoint: "default" });
    // Across the HTTP binding (what the broker delivers to the sink).
    const wire = toHttpBinary(ce as AnyCloudEvent);
    const back = fromHttp(wire.headers, wire.body);
    const store = new FileInferenceLog(tmp);
    expect(writeLogEvent(back, store)).toBe("written");
    expect(writeLogEvent(back, store)).toBe("duplicate");
    const rec = store.find("iris", id, Date.parse("2026-12-06T10:00:00Z"));
    expect(rec?.rows).toEqual([{ x: 1.5 }]);
    expect(fs.existsSync(path.join(tmp, "requests", "iris", "2026-12-06.jsonl"))).toBe(true);
  });

  it("a malformed log event is a validation error naming the field", () => {
    const bad = fromHttp({ "ce-specversion": "1.0", "ce-id": "x", "ce-source": "/s", "ce-type": KSERVE_RESPONSE_TYPE, "content-type": "application/json" }, JSON.stringify({ requestId: "x", time: -1 }));
    expect(() => writeLogEvent(bad, new FileInferenceLog(tmp))).toThrow(ValidationError);
  });
});
