// registerCloudEvent's error handling through functions-framework's real server: a bad event is acknowledged with a
// warning; a retryable or unexpected failure answers 500 and reaches stderr only as JSON lines (no raw stack).
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { CloudEvent } from "cloudevents";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ValidationError, UpstreamError } from "../../../platform/errors.ts";
import { toHttpBinary } from "../../../platform/events/index.ts";
import { registerCloudEvent } from "../../../platform/fn/framework.ts";
import { createLogger } from "../../../platform/log.ts";

const lines: string[] = [];
const failures: Record<string, () => Error> = {
  "dev.flywheel.test.busy": () => new UpstreamError("mlflow: 503 Service Unavailable", true),
  "dev.flywheel.test.bug": () => new TypeError("cannot read properties of undefined (reading 'x')"),
  "dev.flywheel.test.bad": () => new ValidationError([{ field: "data.model", message: "required" }]),
};
registerCloudEvent(
  "frameworkErrorsTarget",
  async (event) => {
    const fail = failures[event.type];
    if (fail) throw fail();
    return { status: "done" };
  },
  () => ({ bus: { emit: async () => undefined }, log: createLogger("info", { target: "t" }, (l) => lines.push(l)), now: Date.now }),
);

async function post(type: string): Promise<number> {
  const server = getTestServer("frameworkErrorsTarget");
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const addr = server.address();
    const { headers, body } = toHttpBinary(new CloudEvent<unknown>({ id: `id-${type}`, source: "/test", type, data: {} }, false));
    const res = await fetch(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`, { method: "POST", headers, body });
    await res.arrayBuffer();
    return res.status;
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const parsed = (l: string): Record<string, unknown> => {
  const v: unknown = JSON.parse(l);
  return typeof v === "object" && v !== null ? Object.fromEntries(Object.entries(v)) : {};
};

afterEach(() => {
  lines.length = 0;
  vi.restoreAllMocks();
});

describe("registerCloudEvent errors", () => {
  it.each([
    ["dev.flywheel.test.busy", "UpstreamError", "mlflow: 503 Service Unavailable"],
    ["dev.flywheel.test.bug", "TypeError", "cannot read properties of undefined (reading 'x')"],
  ])("%s: 500 for a retry, logged as one JSON line with name, message and stack; stderr gets JSON only", async (type, name, message) => {
    const printed: unknown[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void printed.push(...args));
    expect(await post(type)).toBe(500);
    expect(lines).toHaveLength(1);
    const rec = parsed(lines[0] ?? "");
    expect(rec).toMatchObject({ level: "error", target: "t", id: `id-${type}`, type, error: name, message });
    expect(String(rec.stack)).toMatch(new RegExp(`^${name}: .*\\n\\s+at `));
    // functions-framework prints what the handler threw: our JSON line, without the stack.
    expect(printed).toHaveLength(1);
    expect(parsed(String(printed[0]))).toMatchObject({ level: "error", error: "RetryRequested", id: `id-${type}` });
    expect(String(printed[0])).not.toMatch(/\n\s+at /);
  });

  it("acknowledges a bad event (not retried) with a warning", async () => {
    expect(await post("dev.flywheel.test.bad")).toBeLessThan(300);
    expect(lines.map(parsed)).toEqual([expect.objectContaining({ level: "warn", error: "ValidationError", message: "invalid input: data.model: required" })]);
  });
});
