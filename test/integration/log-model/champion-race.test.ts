// Two log-model replicas (two processes) gate two candidates of one model at once against the fake MLflow. The worse
// candidate's alias move is held so that it lands last: without the re-read and repair it would stay champion.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, it } from "vitest";
import { CONTENDER_TAG } from "../../../functions/log-model/champion.ts";
import { createLogModelDeps, logModelHandler } from "../../../functions/log-model/index.ts";
import { toStructured } from "../../../platform/events/index.ts";
import { createLogger } from "../../../platform/log.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { startFakeMlflow, type FakeMlflow, type RecordedRequest } from "../../support/fake-mlflow/index.ts";
import { POLICIES, succeeded, writeOutputs } from "./setup.ts";

const run = promisify(execFile);
let fake: FakeMlflow;
let tmp: string;
beforeEach(async () => {
  fake = await startFakeMlflow();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-race-"));
});
afterEach(async () => {
  await fake.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const contenderValue = (r: RecordedRequest): number | undefined => {
  const body = Object(r.json);
  if (r.path !== "/api/2.0/mlflow/model-versions/set-tag" || body.key !== CONTENDER_TAG) return undefined;
  return Number(Object(JSON.parse(String(body.value))).value);
};

it("two replicas, two candidates at once: one consistent champion and previous-champion", async () => {
  const client = new MlflowClient({ trackingUri: fake.url });
  const deps = createLogModelDeps({ bus: { emit: async () => undefined }, log: createLogger("silent"), now: () => 1_700_000_000_000, mlflow: client, policies: parsePolicies(POLICIES) });
  await logModelHandler(succeeded("base", writeOutputs(tmp, { accuracy: 0.85 })), deps);
  expect((await client.getRegisteredModel("iris")).aliases).toEqual([{ alias: "champion", version: "1" }]);

  // Both replicas read champion v1 before either records itself (a replica records itself only after reading the
  // champion): the better one waits for the worse one's record to arrive, then moves the aliases first.
  const recordOf = (v: number): RecordedRequest | undefined => fake.requests.find((r) => contenderValue(r) === v);
  fake.delay((r) => contenderValue(r) === 0.95, 0, 1, () => recordOf(0.9) !== undefined);
  // ...and the worse one moves them only after the better one has re-read the model (its repair found nothing to do).
  fake.delay((r) => contenderValue(r) === 0.9, 200, 1, () => {
    const better = String(Object(recordOf(0.95)?.json).version ?? "");
    const moved = fake.requests.findIndex((r) => r.path.endsWith("/registered-models/alias") && r.method === "POST" && Object(r.json).version === better);
    return moved >= 0 && fake.requests.slice(moved).some((r) => r.path.endsWith("/registered-models/get"));
  });
  const goFile = path.join(tmp, "go");
  const replica = async (id: string, accuracy: number): Promise<{ status: string; events: { type: string; data: Record<string, unknown> }[] }> => {
    const eventFile = path.join(tmp, `${id}.json`);
    fs.writeFileSync(eventFile, JSON.stringify(toStructured(succeeded(id, writeOutputs(tmp, { accuracy })))));
    const script = path.resolve("test/integration/log-model/replica.ts");
    const { stdout } = await run(process.execPath, ["--import", "tsx", script, fake.url, eventFile, goFile], { timeout: 60_000 });
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { status: string; events: { type: string; data: Record<string, unknown> }[] };
  };
  const both = Promise.all([replica("worse", 0.9), replica("better", 0.95)]);
  await new Promise((r) => setTimeout(r, 1500)); // both processes loaded and waiting
  fs.writeFileSync(goFile, "");
  const [worse, better] = await both;
  expect([worse.status, better.status]).toEqual(["done", "done"]);

  const versionOf = async (eventId: string): Promise<string> =>
    (await client.searchModelVersions({ filter: `name = 'iris' AND tags.\`flywheel.event_id\` = '${eventId}'` })).items[0]?.version ?? "";
  const [w, b] = [await versionOf("worse"), await versionOf("better")];
  // The race happened: the worse candidate moved champion after the better one did.
  const championMoves = fake.requests
    .filter((r) => r.method === "POST" && r.path === "/api/2.0/mlflow/registered-models/alias" && Object(r.json).alias === "champion")
    .map((r) => String(Object(r.json).version));
  expect(championMoves.indexOf(w)).toBeGreaterThan(championMoves.indexOf(b));
  expect(championMoves.indexOf(b)).toBeGreaterThan(-1);

  // The state a serial order (worse, then better) leaves: champion = better, previous-champion = worse.
  const aliases = Object.fromEntries((await client.getRegisteredModel("iris")).aliases.map((a) => [a.alias, a.version]));
  expect(aliases.champion).toBe(b);
  expect(aliases["previous-champion"]).toBe(w);
  expect(better.events.map((e) => e.type)).toContain("dev.flywheel.model.promoted");
  expect(worse.events.find((e) => e.type === "dev.flywheel.model.rejected")?.data.championVersion).toBe(b);
}, 90_000);
