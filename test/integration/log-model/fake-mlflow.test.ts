// log-model and its gate against the fake MLflow built from recorded answers, over HTTP: no duplicate run when the
// connection drops around runs/create, and "no champion yet" read from the model's aliases.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogModelDeps, logModelHandler, type LogModelDeps } from "../../../functions/log-model/index.ts";
import type { AnyCloudEvent } from "../../../platform/events/index.ts";
import { TAG } from "../../../platform/lineage.ts";
import { createLogger } from "../../../platform/log.ts";
import { MlflowClient } from "../../../platform/mlflow/index.ts";
import { parsePolicies } from "../../../platform/policies/index.ts";
import { startFakeMlflow, type FakeMlflow } from "../../support/fake-mlflow/index.ts";
import { createHash } from "node:crypto";
import { fromStructured, toStructured } from "../../../platform/events/index.ts";
import { tagsOf } from "../../../platform/mlflow/index.ts";
import { POLICIES, succeeded, typesOf, writeOutputs } from "./setup.ts";

let fake: FakeMlflow;
let client: MlflowClient;
let deps: LogModelDeps;
let events: AnyCloudEvent[];
let tmp: string;

beforeEach(async () => {
  fake = await startFakeMlflow();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-log-model-fake-"));
  client = new MlflowClient({ trackingUri: fake.url, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  events = [];
  deps = createLogModelDeps({ bus: { emit: async (e) => void events.push(e) }, log: createLogger("silent"), now: () => 1_700_000_000_000, mlflow: client, policies: parsePolicies(POLICIES) });
});
afterEach(async () => {
  await fake.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function runsOf(eventId: string): Promise<number> {
  const exp = await client.getExperimentByName("iris");
  const page = await client.searchRuns({ experimentIds: [exp.experiment_id], filter: `tags.\`${TAG.eventId}\` = '${eventId}'` });
  return page.items.length;
}
const creates = (): number => fake.requests.filter((r) => r.path === "/api/2.0/mlflow/runs/create").length;

describe("log-model against the fake MLflow", () => {
  it("a connection reset after the server created the run: the run is found by its event tag, not created twice", async () => {
    fake.dropAfter("mlflow/runs/create", 1);
    const out = await logModelHandler(succeeded("reset-1", writeOutputs(tmp, { accuracy: 0.9 })), deps);
    expect(out.status).toBe("done");
    expect(creates()).toBe(1);
    expect(await runsOf("reset-1")).toBe(1);
    expect(typesOf(events)).toEqual(["model.logged", "model.promoted"]);
  });

  it("a connection reset before the server saw runs/create: created once on the next attempt", async () => {
    fake.drop("mlflow/runs/create", 1);
    const out = await logModelHandler(succeeded("reset-2", writeOutputs(tmp, { accuracy: 0.9 })), deps);
    expect(out.status).toBe("done");
    expect(creates()).toBe(2);
    expect(await runsOf("reset-2")).toBe(1);
  });

  it("first version becomes champion, a better one moves champion and previous-champion; aliases read from the model", async () => {
    await logModelHandler(succeeded("g-1", writeOutputs(tmp, { accuracy: 0.85 })), deps);
    await logModelHandler(succeeded("g-2", writeOutputs(tmp, { accuracy: 0.95 })), deps);
    const rm = await client.getRegisteredModel("iris");
    expect([...rm.aliases].sort((a, b) => a.alias.localeCompare(b.alias))).toEqual([
      { alias: "champion", version: "2" },
      { alias: "previous-champion", version: "1" },
    ]);
    expect(fake.requests.filter((r) => r.method === "GET" && r.path.endsWith("/registered-models/alias"))).toEqual([]);
  });

  it("lineage: the dataset through runs/log-inputs (digest of the file, source, schema, profile) once, and the git commit", async () => {
    const csv = path.join(tmp, "iris.csv");
    fs.writeFileSync(csv, "sepal_length,sepal_width,petal_length,petal_width,label\n5.1,3.5,1.4,0.2,setosa\n");
    const dir = writeOutputs(tmp, { accuracy: 0.9 });
    const commit = "0123456789abcdef0123456789abcdef01234567";
    fs.writeFileSync(path.join(dir, "source.json"), JSON.stringify({ git: "https://git.example/iris.git", ref: "main", commit }));
    const raw = toStructured(succeeded("lin-1", dir));
    const data = Object(raw.data);
    const ev = fromStructured({ ...raw, data: { ...data, spec: { ...Object(data.spec), dataset: `file://${csv}`, codeVersion: undefined } } });
    expect((await logModelHandler(ev, deps)).status).toBe("done");
    expect((await logModelHandler(ev, deps)).status).toBe("duplicate"); // a replay logs nothing twice

    const v = await client.getModelVersion("iris", "1");
    expect(tagsOf(v.tags)[TAG.codeVersion]).toBe(commit);
    const run = await client.getRun(v.run_id ?? "");
    expect(tagsOf(run.data.tags)["mlflow.source.git.commit"]).toBe(commit);
    expect(tagsOf(run.data.tags)["mlflow.source.git.repoURL"]).toBe("https://git.example/iris.git");
    const inputs = run.inputs?.dataset_inputs ?? [];
    expect(inputs).toHaveLength(1);
    const ds = Object(Object(inputs[0]).dataset);
    expect(ds).toMatchObject({
      name: "iris",
      digest: createHash("sha256").update(fs.readFileSync(csv)).digest("hex").slice(0, 16),
      source_type: "local",
      source: JSON.stringify({ uri: `file://${csv}` }),
      profile: JSON.stringify({ num_rows: 150 }),
    });
    expect(JSON.parse(String(ds.schema)).mlflow_colspec[0]).toMatchObject({ type: "tensor" });
    expect(Object(inputs[0]).tags).toEqual([{ key: "mlflow.data.context", value: "training" }]);
  });
  it("lineage with a data window: the spec's dataset once (not again as the window's base), the window and the holdout once each", async () => {
    const csv = path.join(tmp, "iris.csv");
    const window = path.join(tmp, "window.csv");
    fs.writeFileSync(csv, "sepal_length,sepal_width,petal_length,petal_width,label\n5.1,3.5,1.4,0.2,setosa\n");
    fs.writeFileSync(window, "sepal_length,sepal_width,petal_length,petal_width,label\n6.1,2.8,4.7,1.2,versicolor\n");
    const dir = writeOutputs(tmp, { accuracy: 0.9 });
    // The trainer spells the base as a path, the spec as a file: URI: one file all the same.
    fs.writeFileSync(path.join(dir, "data.json"), JSON.stringify({
      base: { uri: csv, rows: 100, of: 150 },
      window: { uri: `file://${window}`, from: "2026-12-01", to: "2026-12-06", days: 5, rows: 40 },
      train: { rows: 120, base: 90, window: 30 },
      holdout: { rows: 10, source: "window", file: "holdout.csv" },
    }));
    const raw = toStructured(succeeded("win-1", dir));
    const data = Object(raw.data);
    const ev = fromStructured({ ...raw, data: { ...data, spec: { ...Object(data.spec), dataset: `file://${csv}` } } });
    expect((await logModelHandler(ev, deps)).status).toBe("done");
    const v = await client.getModelVersion("iris", "1");
    const run = await client.getRun(v.run_id ?? "");
    const inputs = (run.inputs?.dataset_inputs ?? []).map((i) => ({ name: String(Object(Object(i).dataset).name), context: tagsOf(Object(i).tags)["mlflow.data.context"] }));
    expect(inputs.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "iris", context: "training" },
      { name: "iris-feedback-window", context: "training" },
      { name: "iris-holdout", context: "evaluation" },
    ]);
    expect(fake.requests.filter((r) => r.path === "/api/2.0/mlflow/runs/log-inputs")).toHaveLength(2);
  });
});
