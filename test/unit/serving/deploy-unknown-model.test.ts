// A deployment naming a model version or alias the registry does not have is refused at request time (issue 17 item 8),
// against the real embedded registry through the MLflow REST client.
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { deploymentsApi } from "../../../functions/infer/deployments-api.ts";
import type { AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";
import { MlflowClient, MlflowModelRegistry } from "../../../platform/mlflow/index.ts";
import { LocalServingBackend } from "../../../platform/serving/local/backend.ts";
import { EmbeddedV2Server } from "../../../platform/serving/local/server.ts";
import { Registry } from "prom-client";
import { startHarness, type Harness } from "../registry/harness.ts";

let h: Harness | undefined;
afterEach(() => h?.close());

function setup(registryUp = true) {
  h = startHarness();
  const app = h.app;
  const client = new MlflowClient({
    trackingUri: "http://registry.test",
    fetch: registryUp ? async (input, init) => app.request(String(input), init) : async () => { throw new TypeError("fetch failed: connect ECONNREFUSED"); },
    retry: { attempts: 1 },
  });
  const emitted: AnyCloudEvent[] = [];
  const api = deploymentsApi({
    bus: { emit: async (e) => void emitted.push(e) },
    log: createLogger("silent"),
    now: Date.now,
    backends: { local: new LocalServingBackend({ server: new EmbeddedV2Server({ registry: new Registry() }) }) },
    defaultBackend: "local",
    registry: new MlflowModelRegistry(client),
  });
  const post = (body: string) => new Hono().route("/d", api).request("/d", { method: "POST", headers: { "content-type": "application/yaml" }, body });
  return { h, emitted, post };
}

describe("deployments of models the registry does not have", () => {
  it("are 400 naming the field, and nothing is emitted", async () => {
    const t = setup();
    await t.h.call("POST", "/mlflow/registered-models/create", { name: "iris" });
    await t.h.call("POST", "/mlflow/model-versions/create", { name: "iris", source: "mlflow-artifacts:/0/x/artifacts/model" });
    const missingVersion = await t.post('kind: model\nname: a\nmodel: iris\nversion: "7"\n');
    expect(missingVersion.status).toBe(400);
    expect(JSON.stringify(await missingVersion.json())).toContain('"field":"version"');
    const missingModel = await t.post("kind: model\nname: b\nmodel: nosuchmodel\nalias: champion\n");
    expect(missingModel.status).toBe(400);
    expect(JSON.stringify(await missingModel.json())).toContain('"field":"alias"');
    expect(t.emitted).toEqual([]);
    expect((await t.post('kind: model\nname: c\nmodel: iris\nversion: "1"\n')).status).toBe(202);
    expect(t.emitted).toHaveLength(1);
  });

  it("go ahead when the registry cannot be asked", async () => {
    const t = setup(false);
    expect((await t.post('kind: model\nname: a\nmodel: iris\nversion: "7"\n')).status).toBe(202);
  });
});
