import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { logModelHandler } from "../../../functions/log-model/index.ts";
import { ValidationError } from "../../../platform/errors.ts";
import { fromStructured, parseEventAs, toStructured } from "../../../platform/events/index.ts";
import { ALIAS, TAG } from "../../../platform/lineage.ts";
import { MlflowModelRegistry, tagsOf } from "../../../platform/mlflow/index.ts";
import { promotion, startWorld, succeeded, typesOf, writeOutputs, type World } from "./setup.ts";

let w: World;
beforeEach(() => (w = startWorld()));
afterEach(() => w.close());

const champion = async (model = "iris") => (await w.client.getModelVersionByAlias(model, ALIAS.champion).catch(() => undefined))?.version;
const aliasOf = async (alias: string, model = "iris") => (await w.client.getModelVersionByAlias(model, alias).catch(() => undefined))?.version;
const versions = async (model = "iris") => (await w.client.searchModelVersions({ filter: `name = '${model}'` })).items;

describe("log-model on training.succeeded", () => {
  it("registers a lineage-tagged version from the run's uploaded model, emits model.logged first, then promotes the first version", async () => {
    const dir = writeOutputs(w.tmp, { accuracy: 0.9, loss: 0.2 });
    const ev = succeeded("ev-1", dir, { metrics: { accuracy: 0.5, f1: 0.88 } });
    const out = await logModelHandler(ev, w.deps);
    expect(out.status).toBe("done");
    expect(typesOf(w.events)).toEqual(["model.logged", "model.promoted"]);

    const logged = parseEventAs("model.logged", w.events[0]!);
    expect(logged.data).toMatchObject({ model: "iris", version: "1", flavor: "onnx", jobId: "job-ev-1", metrics: { accuracy: 0.9, loss: 0.2, f1: 0.88 } });
    const promoted = parseEventAs("model.promoted", w.events[1]!);
    expect(promoted.data).toMatchObject({ model: "iris", version: "1", cause: "gate", trigger: { reason: "drift", eventId: "alert-ev-1" } });
    expect(promoted.data.previousVersion).toBeUndefined();
    expect(promoted.data.gate?.candidate).toBe(0.9);

    const v = await w.client.getModelVersion("iris", "1");
    const tags = tagsOf(v.tags);
    expect(JSON.parse(tags[TAG.trainingSpec] ?? "{}")).toMatchObject({ model: "iris", params: { lr: "0.1" } });
    expect(tags[TAG.eventId]).toBe("ev-1");
    expect(JSON.parse(tags[TAG.trigger] ?? "{}")).toEqual({ reason: "drift", eventId: "alert-ev-1" });
    expect(tags[TAG.dataset]).toBe("file:///data/iris.csv");
    expect(tags[TAG.codeVersion]).toBe("abc123");
    expect(tags[TAG.baseline]).toBe("baseline.json");
    expect(tags[TAG.flavor]).toBe("onnx");
    expect(JSON.parse(tags[TAG.signature] ?? "{}")).toEqual({
      inputs: [{ name: "input", type: "float32", shape: [-1, 4] }],
      outputs: [{ name: "label", type: "int64", shape: [-1] }],
    });
    expect(JSON.parse(tags[TAG.labels] ?? "[]")).toEqual(["setosa", "versicolor", "virginica"]);
    expect(JSON.parse(tags[TAG.gate] ?? "{}")).toMatchObject({ passed: true, metric: "accuracy" });
    expect(v.aliases).toEqual([ALIAS.champion]);
    expect(v.run_id).toBeTruthy();

    const run = await w.client.getRun(v.run_id ?? "");
    expect(v.source).toBe(`${run.info.artifact_uri}/model`);
    expect(run.info.status).toBe("FINISHED");
    expect(Object.fromEntries(run.data.params.map((p) => [p.key, p.value]))).toEqual({ lr: "0.1", epochs: "20" });
    expect(Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]))).toEqual({ accuracy: 0.9, loss: 0.2, f1: 0.88 });
    const listed = await w.client.listArtifacts(run.info.run_id);
    expect(listed.files.map((f) => f.path)).toEqual(["baseline.json", "metrics.json", "model"]);

    const dest = path.join(w.tmp, "download");
    await new MlflowModelRegistry(w.client).downloadModel(await new MlflowModelRegistry(w.client).getModelVersion("iris", "1"), dest);
    expect(fs.readFileSync(path.join(dest, "model.onnx"))).toEqual(fs.readFileSync(path.join(dir, "model", "model.onnx")));
    expect(fs.existsSync(path.join(dest, "MLmodel"))).toBe(true);
  });

  it("is idempotent: the same event twice gives one version and re-sends model.logged with the same id", async () => {
    const ev = succeeded("ev-dup", writeOutputs(w.tmp, { accuracy: 0.9 }));
    const first = await logModelHandler(ev, w.deps);
    const second = await logModelHandler(ev, w.deps);
    expect(first.status).toBe("done");
    expect(second.status).toBe("duplicate");
    expect((await versions()).length).toBe(1);
    expect(second.emitted).toEqual([first.emitted?.[0]]);
    const runs = await w.client.searchRuns({ experimentIds: [(await w.client.getExperimentByName("iris")).experiment_id] });
    expect(runs.items.length).toBe(1);
  });

  it("is idempotent under concurrency, in one process and across processes", async () => {
    const ev = succeeded("ev-race", writeOutputs(w.tmp, { accuracy: 0.9 }));
    const outcomes = await Promise.all([
      logModelHandler(ev, w.deps),
      logModelHandler(ev, w.deps),
      logModelHandler(ev, w.otherProcess()),
      logModelHandler(ev, w.otherProcess()),
    ]);
    const withEvent = (await versions()).filter((v) => tagsOf(v.tags)[TAG.eventId] === "ev-race");
    expect(withEvent.length).toBe(1);
    expect(outcomes.filter((o) => o.status === "done").length).toBeGreaterThanOrEqual(1);
    expect(await champion()).toBe(withEvent[0]?.version);
  });

  it("uses the run the job created itself (rank 0) instead of creating one", async () => {
    const exp = await w.client.getOrCreateExperiment("iris");
    const run = await w.client.createRun({ experimentId: exp.experiment_id, runName: "rank0" });
    await w.client.logParam(run.info.run_id, "lr", "0.1");
    await logModelHandler(succeeded("ev-own", writeOutputs(w.tmp, { accuracy: 0.9 }), { runId: run.info.run_id }), w.deps);
    const v = await w.client.getModelVersion("iris", "1");
    expect(v.run_id).toBe(run.info.run_id);
    expect((await w.client.searchRuns({ experimentIds: [exp.experiment_id] })).items.length).toBe(1);
  });

  it("rejects a bad event with a ValidationError naming the field", async () => {
    const good = succeeded("ev-bad", writeOutputs(w.tmp, { accuracy: 0.9 }));
    const ev = fromStructured({ ...toStructured(good), data: { model: "iris" } });
    const err = await logModelHandler(ev, w.deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(String(err)).toContain("data.jobId");
    const missing = succeeded("ev-missing", path.join(w.tmp, "does-not-exist"));
    await expect(logModelHandler(missing, w.deps)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("the gate, as a sequence of trainings", () => {
  it.each([
    // accuracy of each successive version -> [event, champion, challenger, previous-champion] after it
    [[0.9], [["promoted", "1", undefined, undefined]]],
    [[0.7], [["rejected", undefined, "1", undefined]]],
    [[0.7, 0.85], [["rejected", undefined, "1", undefined], ["promoted", "2", "1", undefined]]],
    [[0.9, 0.905], [["promoted", "1", undefined, undefined], ["rejected", "1", "2", undefined]]],
    [[0.9, 0.85, 0.95], [["promoted", "1", undefined, undefined], ["rejected", "1", "2", undefined], ["promoted", "3", "2", "1"]]],
    [[0.9, 0.95, 0.99], [["promoted", "1", undefined, undefined], ["promoted", "2", undefined, "1"], ["promoted", "3", undefined, "2"]]],
    [[0.9, 0.95, 0.79], [["promoted", "1", undefined, undefined], ["promoted", "2", undefined, "1"], ["rejected", "2", "3", "1"]]],
  ])("accuracies %j", async (accs, expected) => {
    for (const [i, acc] of accs.entries()) {
      w.events.length = 0;
      await logModelHandler(succeeded(`seq-${i}`, writeOutputs(w.tmp, { accuracy: acc })), w.deps);
      const [outcome, champ, chall, prev] = expected[i] ?? [];
      expect(typesOf(w.events)).toEqual(["model.logged", `model.${outcome}`]);
      expect([await champion(), await aliasOf(ALIAS.challenger), await aliasOf(ALIAS.previousChampion)]).toEqual([champ, chall, prev]);
      if (outcome === "rejected") {
        const r = parseEventAs("model.rejected", w.events[1]!);
        expect(r.data.gate.candidate).toBe(acc);
        expect(r.data.gate.reasons.length).toBeGreaterThan(0);
        if (r.data.championVersion) expect(r.data.gate.champion).not.toBeNull();
      }
    }
  });

  it("two trainings of the same model at once give two versions and a consistent champion", async () => {
    await Promise.all([
      logModelHandler(succeeded("c-a", writeOutputs(w.tmp, { accuracy: 0.9 })), w.deps),
      logModelHandler(succeeded("c-b", writeOutputs(w.tmp, { accuracy: 0.93 })), w.deps),
    ]);
    const vs = await versions();
    expect(vs.length).toBe(2);
    const byEvent = Object.fromEntries(vs.map((v) => [tagsOf(v.tags)[TAG.eventId], v.version]));
    expect(await champion()).toBe(byEvent["c-b"]);
    const prev = await aliasOf(ALIAS.previousChampion);
    const chall = await aliasOf(ALIAS.challenger);
    // Either c-a was promoted first and then replaced, or it came second and lost: never both aliases, never neither.
    expect([prev, chall].filter(Boolean)).toEqual([byEvent["c-a"]]);
    for (const v of vs) expect(tagsOf(v.tags)[TAG.gate]).toBeTruthy();
    expect(typesOf(w.events).filter((t) => t === "model.logged").length).toBe(2);
  });
});

describe("manual promote and rollback", () => {
  it("promote the challenger, replay is a no-op, rollback moves champion back", async () => {
    await logModelHandler(succeeded("m-1", writeOutputs(w.tmp, { accuracy: 0.9 })), w.deps);
    await logModelHandler(succeeded("m-2", writeOutputs(w.tmp, { accuracy: 0.85 })), w.deps);
    expect([await champion(), await aliasOf(ALIAS.challenger)]).toEqual(["1", "2"]);

    w.events.length = 0;
    const req = promotion("p-1", { model: "iris", action: "promote", user: "alice" });
    expect((await logModelHandler(req, w.deps)).status).toBe("done");
    expect([await champion(), await aliasOf(ALIAS.previousChampion), await aliasOf(ALIAS.challenger)]).toEqual(["2", "1", undefined]);
    const p = parseEventAs("model.promoted", w.events[0]!);
    expect(p.data).toMatchObject({ model: "iris", version: "2", previousVersion: "1", cause: "manual" });
    expect((await logModelHandler(req, w.deps)).status).toBe("duplicate");
    expect(w.events.length).toBe(1);

    const rb = promotion("p-2", { model: "iris", action: "rollback" });
    await logModelHandler(rb, w.deps);
    expect([await champion(), await aliasOf(ALIAS.previousChampion)]).toEqual(["1", undefined]);
    expect(parseEventAs("model.promoted", w.events[1]!).data).toMatchObject({ version: "1", previousVersion: "2", cause: "rollback" });
    expect((await logModelHandler(rb, w.deps)).status).toBe("duplicate");
    expect(await champion()).toBe("1");

    await expect(logModelHandler(promotion("p-3", { model: "iris", action: "rollback" }), w.deps)).rejects.toBeInstanceOf(ValidationError);
    await expect(logModelHandler(promotion("p-4", { model: "iris", action: "promote", version: "9" }), w.deps)).rejects.toBeInstanceOf(ValidationError);
    await expect(logModelHandler(promotion("p-5", { model: "ghost", action: "promote", version: "1" }), w.deps)).rejects.toBeInstanceOf(ValidationError);
    await logModelHandler(promotion("p-6", { model: "iris", action: "promote", version: "2" }), w.deps);
    expect([await champion(), await aliasOf(ALIAS.previousChampion)]).toEqual(["2", "1"]);
  });
});
