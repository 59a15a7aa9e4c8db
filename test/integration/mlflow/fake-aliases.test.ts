// Every Flywheel reader of aliases against the fake MLflow built from recorded answers, where a missing alias is
// 400 INVALID_PARAMETER_VALUE (steps 285, 286, 289): none may take that error for "no such alias" or fail on it.
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findVersion } from "../../../functions/deploy-model/resolve.ts";
import { checkRollback } from "../../../functions/feedback/rollback.ts";
import { championSpec } from "../../../functions/retrain-on-drift/lineage.ts";
import type { AnyCloudEvent } from "../../../platform/events/index.ts";
import { LiveAccuracy } from "../../../platform/inference-log/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { MlflowClient, MlflowInvalidParameterError, MlflowModelRegistry } from "../../../platform/mlflow/index.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import type { FeedbackDeps } from "../../../functions/feedback/deps.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";

let fake: FakeMlflow;
let client: MlflowClient;
let registry: MlflowModelRegistry;

beforeAll(async () => {
  fake = await startFakeMlflow();
  client = new MlflowClient({ trackingUri: fake.url, retry: { attempts: 1 } });
  registry = new MlflowModelRegistry(client);
  await client.createRegisteredModel("iris");
  await client.createModelVersion({ name: "iris", source: "s3://b/iris/1" });
  await client.setAlias("iris", "champion", "1");
  await client.createRegisteredModel("wine");
  await client.createModelVersion({ name: "wine", source: "s3://b/wine/1" });
  await client.createModelVersion({ name: "wine", source: "s3://b/wine/2" });
});
afterAll(async () => fake.close());

describe("alias readers against the fake MLflow", () => {
  it("the fake answers a missing alias as MLflow does: 400 INVALID_PARAMETER_VALUE, not 404", async () => {
    const err = await client.getModelVersionByAlias("iris", "previous-champion").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowInvalidParameterError);
    expect(err).toHaveProperty("httpStatus", 400);
    expect(await registry.findVersionByAlias("iris", "previous-champion")).toBeUndefined();
    expect(await registry.findVersionByAlias("no-such-model", "champion")).toBeUndefined();
    expect((await registry.findVersionByAlias("iris", "champion"))?.version).toBe("1");
  });

  it("the accuracy rollback policy: a champion with no previous champion is left alone, no error", async () => {
    const emitted: AnyCloudEvent[] = [];
    const accuracy = new LiveAccuracy(new Registry(), 50);
    for (let i = 0; i < 30; i++) accuracy.add("iris", "1", false);
    const deps = {
      bus: { emit: async (e: AnyCloudEvent) => void emitted.push(e) }, log: createLogger("silent"), registry, accuracy,
      policies: parsePolicies("defaults:\n  feedback: {rollbackOnAccuracyDrop: true, minSamples: 20}\n"),
    } as unknown as FeedbackDeps;
    expect(await checkRollback(deps, "iris", "1")).toBeUndefined();
    expect(emitted).toEqual([]);
  });

  it("deploy-model: no champion yet serves the newest version; a named missing alias is refused", async () => {
    expect((await findVersion(registry, "wine", {})).version).toBe("2");
    expect((await findVersion(registry, "iris", {})).version).toBe("1");
    await expect(findVersion(registry, "wine", { alias: "canary" })).rejects.toBeInstanceOf(MlflowInvalidParameterError);
  });

  it("retrain-on-drift's lineage lookup: no champion is a reason, not a failure", async () => {
    expect(await championSpec(registry, "wine")).toMatchObject({ ok: false, reason: "no-champion" });
    expect(await championSpec(registry, "iris")).toMatchObject({ ok: false, reason: "no-lineage" });
  });
});
