// Two log-model processes (production entry) on one PostgreSQL and one MLflow: candidates of one model gated at the
// same moment on different replicas leave a consistent champion and previous-champion (the per-model lock).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventType, parseEventAs, toHttpBinary, type AnyCloudEvent } from "../../../platform/events/index.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { startEventSink, startFunction, type EventSink, type FunctionProcess } from "../../support/function-process.ts";
import { startPostgres, type TestPostgres } from "../../support/postgres.ts";
import { POLICIES, succeeded, writeOutputs } from "../log-model/setup.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-log-model-replicas-"));
let pgc: TestPostgres;
let mlflow: FakeMlflow;
let sink: EventSink;
let replicas: FunctionProcess[] = [];

beforeAll(async () => {
  [pgc, mlflow, sink] = await Promise.all([startPostgres(), startFakeMlflow(), startEventSink()]);
  const policies = path.join(tmp, "policies.yaml");
  fs.writeFileSync(policies, POLICIES);
  const env = { FLYWHEEL_DATABASE_URL: await pgc.createDatabase("logmodel"), K_SINK: sink.url, MLFLOW_TRACKING_URI: mlflow.url, FLYWHEEL_POLICIES_FILE: policies };
  replicas = await Promise.all([startFunction("logModel", env), startFunction("logModel", env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([sink?.close(), mlflow?.close()]);
  await pgc?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function deliver(replica: FunctionProcess | undefined, ev: AnyCloudEvent): Promise<number> {
  if (!replica) throw new Error("no replica");
  const { headers, body } = toHttpBinary(ev);
  const res = await fetch(replica.url, { method: "POST", headers, body });
  await res.arrayBuffer();
  return res.status;
}

it("two candidates of one model gated at once on two replicas: the better one is champion, previous-champion is what it replaced", async () => {
  const client = new MlflowClient({ trackingUri: mlflow.url });
  expect(await deliver(replicas[0], succeeded("first", writeOutputs(tmp, { accuracy: 0.85 })))).toBeLessThan(300);
  expect((await client.getModelVersionByAlias("iris", "champion")).version).toBe("1");

  for (let round = 0; round < 3; round++) {
    const base = 0.86 + round * 0.03;
    const [a, b] = [succeeded(`a-${round}`, writeOutputs(tmp, { accuracy: base })), succeeded(`b-${round}`, writeOutputs(tmp, { accuracy: base + 0.015 }))];
    const statuses = await Promise.all([deliver(replicas[0], a), deliver(replicas[1], b)]);
    expect(statuses.every((s) => s < 300)).toBe(true);
  }
  const promoted = sink.events.filter((e) => e.type === eventType("model.promoted")).map((e) => parseEventAs("model.promoted", e).data);
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
