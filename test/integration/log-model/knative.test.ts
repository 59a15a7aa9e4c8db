// log-model as a Knative Service: functions-framework target logModel, binary CloudEvents in, events to the bus.
import { afterEach, beforeEach, expect, it } from "vitest";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { registerLogModel } from "../../../functions/log-model/index.ts";
import { toHttpBinary } from "../../../platform/events/index.ts";
import { startWorld, succeeded, typesOf, writeOutputs, type World } from "./setup.ts";

let w: World;
beforeEach(() => (w = startWorld()));
afterEach(() => w.close());

it("FUNCTION_TARGET=logModel registers a version from a binary CloudEvent and acknowledges bad events", async () => {
  registerLogModel(() => w.deps);
  const server = getTestServer("logModel");
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const addr = server.address();
    const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/`;
    const { headers, body } = toHttpBinary(succeeded("kn-1", writeOutputs(w.tmp, { accuracy: 0.92 })));
    const res = await fetch(url, { method: "POST", headers, body });
    expect(res.status).toBeLessThan(300);
    expect((await w.client.getModelVersionByAlias("iris", "champion")).version).toBe("1");
    expect(typesOf(w.events)).toEqual(["model.logged", "model.promoted"]);

    // A bad event is acknowledged (never retried) and changes nothing.
    const bad = toHttpBinary(succeeded("kn-2", writeOutputs(w.tmp, { accuracy: 0.99 })));
    const res2 = await fetch(url, { method: "POST", headers: bad.headers, body: JSON.stringify({ model: "iris" }) });
    expect(res2.status).toBeLessThan(300);
    expect((await w.client.searchModelVersions({ filter: "name = 'iris'" })).items.length).toBe(1);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
