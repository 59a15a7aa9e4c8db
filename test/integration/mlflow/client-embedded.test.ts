// The MLflow client against the embedded registry over real HTTP: a full session, paging, artifacts, and model download.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MlflowClient, MlflowInvalidParameterError, MlflowModelRegistry, MlflowNotFoundError, tagsOf } from "../../../platform/mlflow/index.ts";
import { startHttpRegistry, type HttpRegistry } from "../registry/http-registry.ts";

let srv: HttpRegistry;
let c: MlflowClient;
let tmp = "";
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-client-"));
  // A configured extra root (FLYWHEEL_ARTIFACT_ROOTS): the one place outside the data dir file: locations may point.
  srv = await startHttpRegistry({ extraArtifactRoots: [path.join(tmp, "file-store")] });
  c = new MlflowClient({ trackingUri: srv.url });
});
afterAll(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeModel(dir: string): void {
  fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
  fs.writeFileSync(path.join(dir, "MLmodel"), "flavors: {onnx: {}}\n");
  fs.writeFileSync(path.join(dir, "model.onnx"), Buffer.from([1, 2, 3, 4, 5]));
  fs.writeFileSync(path.join(dir, "sub", "extra.txt"), "x");
}

const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r)).toString("base64");
    }
  };
  walk("");
  return out;
};

describe("MlflowClient against the embedded registry", () => {
  it("getOrCreateExperiment is safe when many callers race", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => c.getOrCreateExperiment("race")));
    expect(new Set(results.map((e) => e.experiment_id)).size).toBe(1);
  });

  it("runs: create, log, batch, search with iterate, update, metric history", async () => {
    const exp = await c.getOrCreateExperiment("client-runs");
    for (let i = 0; i < 5; i++) {
      const run = await c.createRun({ experimentId: exp.experiment_id, runName: `r${i}`, startTime: 1000 + i, tags: { idx: String(i) } });
      await c.logParam(run.info.run_id, "i", String(i));
      await c.logMetric(run.info.run_id, "score", i / 10, { step: 0, timestamp: 5 });
      await c.logBatch(run.info.run_id, { metrics: [{ key: "score", value: i / 10 + 0.01, step: 1, timestamp: 6 }], tags: { done: "yes" } });
      await c.updateRun(run.info.run_id, { status: "FINISHED", endTime: 2000 });
    }
    const names: string[] = [];
    for await (const r of c.iterateRuns({ experimentIds: [exp.experiment_id], filter: "metrics.score > 0.15", orderBy: ["metrics.score DESC"], maxResults: 2 })) {
      names.push(r.info.run_name);
      expect(r.info.status).toBe("FINISHED");
      expect(tagsOf(r.data.tags).done).toBe("yes");
    }
    expect(names).toEqual(["r4", "r3", "r2"]);
    const first = (await c.searchRuns({ experimentIds: [exp.experiment_id], filter: "params.i = '4'" })).items[0];
    expect(first?.data.metrics).toEqual([{ key: "score", value: 4 / 10 + 0.01, timestamp: 6, step: 1 }]);
    expect((await c.getMetricHistory(first?.info.run_id ?? "", "score")).map((m) => m.value)).toEqual([0.4, 4 / 10 + 0.01]);
    await expect(c.getRun("no-such-run")).rejects.toBeInstanceOf(MlflowNotFoundError);
  });

  it("artifacts: upload a directory, list it, download it back byte for byte", async () => {
    const exp = await c.getOrCreateExperiment("client-artifacts");
    const run = await c.createRun({ experimentId: exp.experiment_id });
    const src = path.join(tmp, "model-src");
    writeModel(src);
    expect(await c.uploadArtifacts(run.info.artifact_uri, src, "model")).toBe(3);
    const listed = await c.listArtifacts(run.info.run_id, "model");
    expect(listed.files.map((f) => f.path)).toEqual(["model/MLmodel", "model/model.onnx", "model/sub"]);
    const dest = path.join(tmp, "model-dest");
    expect(await c.downloadArtifacts(`${run.info.artifact_uri}/model`, dest)).toBe(3);
    expect(snapshot(dest)).toEqual(snapshot(src));
  });

  it("registry: models, versions, tags, descriptions, search, aliases, download through MlflowModelRegistry", async () => {
    const exp = await c.getOrCreateExperiment("client-registry");
    const run = await c.createRun({ experimentId: exp.experiment_id });
    const src = path.join(tmp, "reg-src");
    writeModel(src);
    await c.uploadArtifacts(run.info.artifact_uri, src, "model");
    await c.createRegisteredModel("client-model", { tags: { team: "ml" } });
    await c.updateRegisteredModel("client-model", "updated");
    await c.setRegisteredModelTag("client-model", "k", "v");
    const v1 = await c.createModelVersion({ name: "client-model", source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id, tags: { a: "1" } });
    const v2 = await c.createModelVersion({ name: "client-model", source: `${run.info.artifact_uri}/model`, runId: run.info.run_id });
    expect([v1.version, v2.version]).toEqual(["1", "2"]);
    await c.setModelVersionTag("client-model", "2", "b", "2");
    await c.updateModelVersion("client-model", "2", "second");
    const rm = await c.getRegisteredModel("client-model");
    expect(rm.description).toBe("updated");
    expect(tagsOf(rm.tags)).toEqual({ team: "ml", k: "v" });
    const found = (await c.searchModelVersions({ filter: "name = 'client-model' AND tags.b = '2'" })).items;
    expect(found.map((v) => v.version)).toEqual(["2"]);
    const models: string[] = [];
    for await (const m of c.iterateRegisteredModels({ filter: "name LIKE 'client-%'" })) models.push(m.name);
    expect(models).toEqual(["client-model"]);

    const registry = new MlflowModelRegistry(c);
    await registry.setAlias("client-model", "champion", "1");
    const champ = await registry.getModelVersionByAlias("client-model", "champion");
    expect(champ).toMatchObject({ name: "client-model", version: "1", runId: run.info.run_id, aliases: ["champion"], tags: { a: "1" } });
    expect((await registry.searchModelVersions("client-model")).map((v) => v.version)).toEqual(["2", "1"]);
    const dest = path.join(tmp, "reg-dest");
    expect(await registry.downloadModel(champ, dest)).toBe(dest);
    expect(snapshot(dest)).toEqual(snapshot(src));
    await registry.deleteAlias("client-model", "champion");
    // MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE; "not set" is read from the model's aliases instead.
    await expect(registry.getModelVersionByAlias("client-model", "champion")).rejects.toBeInstanceOf(MlflowInvalidParameterError);
    expect(await registry.findVersionByAlias("client-model", "champion")).toBeUndefined();
    expect(await registry.findVersionByAlias("no-such-model", "champion")).toBeUndefined();
    await registry.setAlias("client-model", "champion", "2");
    expect((await registry.findVersionByAlias("client-model", "champion"))?.version).toBe("2");
  });

  it("downloadModel copies a local file: source, and follows models:/m-<id> sources", async () => {
    const root = path.join(tmp, "file-store");
    const expId = await c.createExperiment("client-file-store", { artifactLocation: pathToFileURL(root).href });
    const run = await c.createRun({ experimentId: expId });
    const local = new URL(`${run.info.artifact_uri}/model`);
    writeModel(local.pathname);
    await c.createRegisteredModel("file-model");
    const v = await c.createModelVersion({ name: "file-model", source: local.href, runId: run.info.run_id });
    const registry = new MlflowModelRegistry(c, srv.registry.localArtifactRoots);
    const dest = path.join(tmp, "file-dest");
    await registry.downloadModel(await registry.getModelVersion("file-model", v.version), dest);
    expect(snapshot(dest)).toEqual(snapshot(local.pathname));

    const exp = await c.getOrCreateExperiment("client-logged");
    const lm = await c.createLoggedModel({ experimentId: exp.experiment_id, name: "lm" });
    const src = path.join(tmp, "lm-src");
    writeModel(src);
    await c.uploadArtifacts(lm.info.artifact_uri, src);
    await c.finalizeLoggedModel(lm.info.model_id);
    await c.createRegisteredModel("lm-model");
    const lv = await c.createModelVersion({ name: "lm-model", source: `models:/${lm.info.model_id}`, modelId: lm.info.model_id });
    const dest2 = path.join(tmp, "lm-dest");
    await registry.downloadModel(await registry.getModelVersion("lm-model", lv.version), dest2);
    expect(snapshot(dest2)).toEqual(snapshot(src));
    const page = await c.searchLoggedModels({ experimentIds: [exp.experiment_id] });
    expect(page.items.map((m) => m.info.status)).toEqual(["LOGGED_MODEL_READY"]);
  });
});
