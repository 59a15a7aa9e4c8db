// The fake MLflow server answers the whole recorded MLflow 2.17.2 transcript as the real server did: 323/323, no deviations.
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { describe as show, replay } from "../../support/mlflow-replay.ts";

let fake: FakeMlflow;
beforeAll(async () => (fake = await startFakeMlflow()));
afterAll(async () => fake.close());

it("passes the golden replay 323/323 (status, error_code, every key and value, and every message)", async () => {
  const results = await replay(fake.url, { ignoreMessages: false });
  expect(results.length).toBe(323);
  expect(results.filter((r) => r.diffs.length > 0).map(show)).toEqual([]);
}, 120_000);
