// startDeps (the Knative entry): a cloudEvent target's deps start building before the first event; a failed start is
// dropped and the first event builds them again, answering that failure as before (500, so the broker retries).
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { CloudEvent } from "cloudevents";
import { expect, it } from "vitest";
import { toHttpBinary } from "../../../platform/events/index.ts";
import { registerCloudEvent } from "../../../platform/fn/framework.ts";
import { startDeps } from "../../../platform/fn/starters.ts";
import { createLogger } from "../../../platform/log.ts";

async function post(target: string): Promise<number> {
  const server = getTestServer(target);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const addr = server.address();
    const { headers, body } = toHttpBinary(new CloudEvent<unknown>({ id: "e1", source: "/test", type: "dev.flywheel.test.start", data: {} }, false));
    const res = await fetch(`http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`, { method: "POST", headers, body });
    await res.arrayBuffer();
    return res.status;
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

it("builds the deps once, before the first event, which then uses them", async () => {
  let builds = 0;
  let handled = 0;
  const deps = { bus: { emit: async () => undefined }, log: createLogger("silent", {}), now: Date.now };
  registerCloudEvent("startDepsOk", async () => (handled++, { status: "done" }), async () => (builds++, deps));
  expect(builds).toBe(0);
  startDeps("startDepsOk");
  await new Promise((r) => setImmediate(r));
  expect(builds).toBe(1);
  expect(await post("startDepsOk")).toBe(204);
  expect([builds, handled]).toEqual([1, 1]);
});

it("drops a failed start: no unhandled rejection, and the first event builds again and answers its failure", async () => {
  let builds = 0;
  const deps = { bus: { emit: async () => undefined }, log: createLogger("silent", {}), now: Date.now };
  registerCloudEvent("startDepsDown", async () => ({ status: "done" }), async () => {
    builds++;
    if (builds < 3) throw new Error("database not reachable yet");
    return deps;
  });
  startDeps("startDepsDown");
  await new Promise((r) => setImmediate(r));
  expect(builds).toBe(1);
  expect(await post("startDepsDown")).toBe(500);
  expect(builds).toBe(2);
  expect(await post("startDepsDown")).toBe(204);
  expect(builds).toBe(3);
  // A target that registered nothing (an HTTP function) is a no-op.
  expect(() => startDeps("noSuchTarget")).not.toThrow();
});
