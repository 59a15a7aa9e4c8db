// Issue 17 items 2, 3 and 9: local artifact locations and model sources stay inside the artifact roots, listing never
// creates directories (file:///proc/self used to spin forever), and over-long or below-a-file paths answer 400.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../../platform/errors.ts";
import { MlflowClient, MlflowModelRegistry } from "../../../platform/mlflow/index.ts";
import { startHttpRegistry, type HttpRegistry } from "./http-registry.ts";

let srv: HttpRegistry;
let outside = "";
let extra = "";
beforeAll(async () => {
  outside = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-outside-"));
  extra = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-extra-root-"));
  srv = await startHttpRegistry({ extraArtifactRoots: [extra] });
});
afterAll(async () => {
  await srv.close();
  fs.rmSync(outside, { recursive: true, force: true });
  fs.rmSync(extra, { recursive: true, force: true });
});

type Answer = { status: number; body: Record<string, unknown> };
async function call(method: string, endpoint: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    init.headers = { "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`${srv.url}/api/2.0/${endpoint}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? Object(JSON.parse(text)) : {} };
}
const invalid = (a: Answer): void => {
  expect(a.status, JSON.stringify(a.body)).toBe(400);
  expect(a.body.error_code).toBe("INVALID_PARAMETER_VALUE");
};
let n = 0;
const createExperiment = (location: string): Promise<Answer> => call("POST", "mlflow/experiments/create", { name: `conf-${n++}`, artifact_location: location });

/** Rewrite stored rows as a registry from before confinement could have left them: the use-time checks must hold too. */
function legacy(sql: string, ...args: unknown[]): void {
  const db = new Database(path.join(path.dirname(srv.registry.artifactRoot), "registry.sqlite"));
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

describe("experiment artifact_location", () => {
  it("refuses local locations outside the artifact roots with 400 INVALID_PARAMETER_VALUE, and creates nothing there", async () => {
    const target = path.join(outside, "made-by-listing");
    for (const loc of [
      "file:///proc/self",
      "/proc/self",
      target,
      pathToFileURL(target).href,
      `file://${srv.registry.artifactRoot}/%2e%2e/%2e%2e/${path.relative("/", target)}`,
      `file://${srv.registry.artifactRoot}/..%2f..%2fetc`,
      "relative/dir",
      "mlflow-artifacts:/%2e%2e/%2e%2e/etc",
      "runs:/abc/model",
      "file://remote-host/share",
    ]) {
      invalid(await createExperiment(loc));
    }
    expect(fs.existsSync(target)).toBe(false);
  });

  it("accepts remote URIs as MLflow does, and local ones inside the artifact root or a configured root", async () => {
    for (const loc of ["s3://golden-bucket/exp2", "gs://b/p", "wasbs://c@a.blob.core.windows.net/p", "mlflow-artifacts:/custom/place", pathToFileURL(path.join(srv.registry.artifactRoot, "mine")).href, path.join(extra, "exp")]) {
      const a = await createExperiment(loc);
      expect(a.status, `${loc}: ${JSON.stringify(a.body)}`).toBe(200);
    }
  });

  it("lists a remote run's artifacts without touching the disk (root_uri only)", async () => {
    const exp = String((await createExperiment("s3://bucket/listing")).body.experiment_id);
    const runId = String(Object(Object((await call("POST", "mlflow/runs/create", { experiment_id: exp })).body.run).info).run_id);
    const listed = await call("GET", `mlflow/artifacts/list?run_id=${runId}`);
    expect(listed).toEqual({ status: 200, body: { root_uri: `s3://bucket/listing/${runId}/artifacts` } });
  });
});

describe("artifact listing of a stored location outside the roots (checked again at use)", () => {
  it.each([
    ["file:///proc/self", "/proc/self"],
    ["a plain path outside", ""],
  ])("%s: 400 at once, no directory created, /proc never walked", async (location, _label) => {
    const stored = location.startsWith("file:") ? location : path.join(outside, "legacy");
    const exp = String((await createExperiment(`mlflow-artifacts:/legacy-${n}`)).body.experiment_id);
    legacy("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?", stored, Number(exp));
    const runId = String(Object(Object((await call("POST", "mlflow/runs/create", { experiment_id: exp })).body.run).info).run_id);
    invalid(await call("GET", `mlflow/artifacts/list?run_id=${runId}`));
    invalid(await call("GET", `mlflow/artifacts/list?run_id=${runId}&path=sub`));
    expect(fs.existsSync(path.join(outside, "legacy"))).toBe(false);
  });

  it("a missing directory inside the root lists as empty and is not created", async () => {
    const exp = String((await createExperiment(`mlflow-artifacts:/never-made`)).body.experiment_id);
    const runId = String(Object(Object((await call("POST", "mlflow/runs/create", { experiment_id: exp })).body.run).info).run_id);
    const listed = await call("GET", `mlflow/artifacts/list?run_id=${runId}&path=deep/er`);
    expect(listed.status).toBe(200);
    expect(listed.body.files).toBeUndefined();
    expect(fs.existsSync(path.join(srv.registry.artifactRoot, "never-made"))).toBe(false);
  });
});

describe("model version source", () => {
  let runId = "";
  beforeAll(async () => {
    const exp = String((await createExperiment("mlflow-artifacts:/sources")).body.experiment_id);
    runId = String(Object(Object((await call("POST", "mlflow/runs/create", { experiment_id: exp })).body.run).info).run_id);
    expect((await call("POST", "mlflow/registered-models/create", { name: "conf-model" })).status).toBe(200);
  });

  it("refuses percent-encoded traversal and local paths outside the roots, at creation", async () => {
    for (const source of [
      `runs:/${runId}/%2e%2e/%2e%2e/%2e%2e/etc`,
      `runs:/${runId}/%2E%2E%2F%2E%2E%2Fetc`,
      `runs:/${runId}/..%5c..%5cetc`,
      "mlflow-artifacts:/%2e%2e/%2e%2e/etc",
      "file:///etc",
    ]) {
      invalid(await call("POST", "mlflow/model-versions/create", { name: "conf-model", source, run_id: runId }));
    }
  });

  it("accepts runs:/ inside the run and remote sources", async () => {
    for (const source of [`runs:/${runId}/model`, "s3://b/m"]) {
      expect((await call("POST", "mlflow/model-versions/create", { name: "conf-model", source, run_id: runId })).status).toBe(200);
    }
  });

  it("deploy's model download refuses a stored local source outside the roots, and copies nothing", async () => {
    const secret = path.join(outside, "secret");
    fs.mkdirSync(secret, { recursive: true });
    fs.writeFileSync(path.join(secret, "MLmodel"), "flavors: {onnx: {}}\n");
    const created = await call("POST", "mlflow/model-versions/create", { name: "conf-model", source: `runs:/${runId}/model`, run_id: runId });
    const version = String(Object(created.body.model_version).version);
    // get-download-uri answers the source verbatim (as MLflow does), so the stored source is what a download follows.
    legacy("UPDATE model_versions SET source = ?, storage_location = ? WHERE name = 'conf-model' AND version = ?", pathToFileURL(secret).href, pathToFileURL(secret).href, Number(version));
    const registry = new MlflowModelRegistry(new MlflowClient({ trackingUri: srv.url }), srv.registry.localArtifactRoots);
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-dest-"));
    try {
      await expect(registry.downloadModel(await registry.getModelVersion("conf-model", version), dest)).rejects.toBeInstanceOf(ValidationError);
      expect(fs.readdirSync(dest)).toEqual([]);
      // The same through a runs:/ hop whose sub-path is an encoded traversal.
      legacy("UPDATE model_versions SET source = ?, storage_location = ? WHERE name = 'conf-model' AND version = ?", `runs:/${runId}/%2e%2e/%2e%2e`, `runs:/${runId}/%2e%2e/%2e%2e`, Number(version));
      await expect(registry.downloadModel(await registry.getModelVersion("conf-model", version), dest)).rejects.toBeInstanceOf(ValidationError);
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
  });
});

describe("paths the OS refuses answer 400, not 500 (item 9)", () => {
  const long = "x".repeat(300);
  const put = (p: string, body = "data"): Promise<Response> => fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/${p}`, { method: "PUT", body });
  const json = async (res: Response): Promise<Answer> => ({ status: res.status, body: Object(await res.json()) });

  it("a segment over 255 bytes: PUT, GET, DELETE, list and run listing", async () => {
    invalid(await json(await put(`p9/${long}`)));
    invalid(await json(await put(`p9/${long}/child.txt`)));
    invalid(await json(await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/p9/${long}`)));
    invalid(await json(await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/p9/${long}`, { method: "DELETE" })));
    invalid(await call("GET", `mlflow-artifacts/artifacts?path=p9/${long}`));
    const exp = String((await createExperiment("mlflow-artifacts:/p9")).body.experiment_id);
    const runId = String(Object(Object((await call("POST", "mlflow/runs/create", { experiment_id: exp })).body.run).info).run_id);
    invalid(await call("GET", `mlflow/artifacts/list?run_id=${runId}&path=${long}`));
  });

  it("a name of exactly 255 bytes still works", async () => {
    expect((await put(`p9/${"y".repeat(255)}`)).status).toBe(200);
  });

  it("a path below a file: PUT and GET", async () => {
    expect((await put("p9/file.txt")).status).toBe(200);
    invalid(await json(await put("p9/file.txt/child.txt")));
    invalid(await json(await fetch(`${srv.url}/api/2.0/mlflow-artifacts/artifacts/p9/file.txt/child.txt`)));
  });
});
