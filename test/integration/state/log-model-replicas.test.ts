// Two log-model processes (production entry) on one PostgreSQL and one MLflow: candidates of one model gated at the
// same moment on different replicas leave a consistent champion and previous-champion (the per-model lock).
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventType, parseEventAs } from "../../../platform/events/index.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { startFunction, type FunctionProcess } from "../../support/function-process.ts";
import { deliver, startReplicaBackdrop, type ReplicaBackdrop } from "../../support/replica-backdrop.ts";
import { POLICIES, succeeded, writeOutputs } from "../log-model/setup.ts";

let bd: ReplicaBackdrop;
let replicas: FunctionProcess[] = [];

beforeAll(async () => {
  bd = await startReplicaBackdrop("logmodel");
  const policies = path.join(bd.tmp, "policies.yaml");
  fs.writeFileSync(policies, POLICIES);
  const env = { ...bd.env, FLYWHEEL_POLICIES_FILE: policies };
  replicas = await Promise.all([startFunction("logModel", env), startFunction("logModel", env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await bd?.close();
});

it("two candidates of one model gated at once on two replicas: the better one is champion, previous-champion is what it replaced", async () => {
  const client = new MlflowClient({ trackingUri: bd.mlflow.url });
  expect(await deliver(replicas[0], succeeded("first", writeOutputs(bd.tmp, { accuracy: 0.85 })))).toBeLessThan(300);
  expect((await client.getModelVersionByAlias("iris", "champion")).version).toBe("1");

  for (let round = 0; round < 3; round++) {
    const base = 0.86 + round * 0.03;
    const [a, b] = [succeeded(`a-${round}`, writeOutputs(bd.tmp, { accuracy: base })), succeeded(`b-${round}`, writeOutputs(bd.tmp, { accuracy: base + 0.015 }))];
    const statuses = await Promise.all([deliver(replicas[0], a), deliver(replicas[1], b)]);
    expect(statuses.every((s) => s < 300)).toBe(true);
  }
  const promoted = bd.sink.events.filter((e) => e.type === eventType("model.promoted")).map((e) => parseEventAs("model.promoted", e).data);
  const champion = await client.getModelVersionByAlias("iris", "champion");
  const previous = await client.getModelVersionByAlias("iris", "previous-champion");
  // The last promotion is the champion, and it replaced exactly the version promoted before it.
  const last = promoted.at(-1);
  const before = promoted.at(-2);
  expect(last?.version).toBe(champion.version);
  expect(previous.version).toBe(before?.version);
  expect(last?.previousVersion).toBe(before?.version);
  // Every promotion's previousVersion is the one promoted just before it: no two replicas promoted over the same champion.
  for (let i = 1; i < promoted.length; i++) expect(promoted[i]?.previousVersion).toBe(promoted[i - 1]?.version);
  // The champion is the best candidate of all (0.86 + 2 * 0.03 + 0.015).
  const run = await client.getRun(champion.run_id ?? "");
  expect(run.data.metrics.find((m) => m.key === "accuracy")?.value).toBeCloseTo(0.935, 5);
});
