// Real training through the local backend: 2-process PyTorch DDP (gloo) and scikit-learn, logging to the embedded registry.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEvent, type AnyCloudEvent } from "../../../platform/events/envelope.ts";
import { createLogger } from "../../../platform/log.ts";
import { createRegistryServer, REGISTRY_MOUNT_PATH, type RegistryServer } from "../../../platform/registry/index.ts";
import { trainingEventsFromBackend } from "../../../platform/training/events.ts";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
import { TrainingSpecSchema, type TrainingSpecInput } from "../../../platform/specs/training.ts";
import type { JobRecord } from "../../../platform/ports.ts";
import { PYTHON, requirePythonModules } from "../../support/require-binary.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const log = createLogger("silent");

let dir: string;
let registry: RegistryServer;
let server: ServerType;
let url: string;
const calls: string[] = [];
let backend: LocalTrainingBackend;
const events: AnyCloudEvent[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-examples-"));
  registry = createRegistryServer({ dataDir: path.join(dir, "registry"), log });
  const app = new Hono();
  app.use("*", async (c, next) => {
    calls.push(`${c.req.method} ${new URL(c.req.url).pathname}`);
    await next();
  });
  app.route(REGISTRY_MOUNT_PATH, registry.routes);
  url = await new Promise<string>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(`http://127.0.0.1:${info.port}`));
  });
  backend = new LocalTrainingBackend({
    dataDir: path.join(dir, "data"),
    workdir: repo,
    registry: { trackingUri: url, token: undefined },
    env: { PATH: process.env.PATH, HOME: dir },
    onUpdate: trainingEventsFromBackend({ bus: { emit: async (e) => void events.push(e) }, log }),
    killGraceMs: 1000,
  });
});

afterAll(async () => {
  await backend.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function run(jobId: string, spec: TrainingSpecInput): Promise<JobRecord> {
  await backend.launch({ jobId, spec: TrainingSpecSchema.parse(spec), trigger: { reason: "manual" }, causeEventId: jobId });
  await expect.poll(async () => (await backend.get(jobId))?.state, { timeout: 90_000, interval: 200 }).toMatch(/succeeded|failed|cancelled/);
  return (await backend.get(jobId)) as JobRecord;
}

const readLog = (jobId: string, rank: number): string => fs.readFileSync(path.join(dir, "data", "jobs", jobId, `rank-${rank}.log`), "utf8");

async function mlflow(endpoint: string, query: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(query)}`);
  return (await res.json()) as Record<string, unknown>;
}

describe("examples on the local backend", () => {
  it("torch-ddp: two gloo ranks all-reduce, rank 0 alone writes the model and logs the run", async () => {
    requirePythonModules({ torch: "python3-torch" });
    const before = calls.length;
    const job = await run("ddp-1", {
      kind: "ddp",
      model: "blobs",
      experiment: "ddp-it",
      command: [PYTHON, "examples/torch-ddp/train.py"],
      params: { epochs: "30" },
      replicas: 1,
      procsPerReplica: 2,
      timeoutSeconds: 120,
    });
    expect(job.state, readLog("ddp-1", 0) + readLog("ddp-1", 1)).toBe("succeeded");
    for (const rank of [0, 1]) expect(readLog("ddp-1", rank)).toContain(`rank ${rank}: all_reduce ok: sum of (rank+1) = 3 over world_size 2`);
    expect(readLog("ddp-1", 1)).toContain("not rank 0: no artifacts, no registry calls");
    const out = fileURLToPath(job.artifactUri ?? "");
    for (const f of ["model/MLmodel", "model/data/model.pth", "metrics.json", "baseline.json", "run.json"]) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    const mine = calls.slice(before);
    expect(mine.filter((c) => c.endsWith("/runs/create"))).toHaveLength(1);
    const runJson = JSON.parse(fs.readFileSync(path.join(out, "run.json"), "utf8"));
    const exp = (await mlflow("experiments/get-by-name", { experiment_name: "ddp-it" })) as { experiment: { experiment_id: string } };
    expect(runJson.experiment_id).toBe(exp.experiment.experiment_id);
    const got = (await mlflow("runs/get", { run_id: runJson.run_id })) as { run: { data: { metrics: { key: string; value: number }[] } } };
    expect(got.run.data.metrics.find((m) => m.key === "world_size")?.value).toBe(2);
    await expect.poll(() => events.map((e) => parseEvent(e)).find((e) => e.name === "training.succeeded" && (e.data as { jobId: string }).jobId === "ddp-1")?.data).toMatchObject({
      runId: runJson.run_id,
      metrics: { world_size: 2 },
    });
  });

  it("sklearn: trains, writes the MLflow sklearn layout and logs once", async () => {
    requirePythonModules({ sklearn: "python3-sklearn" });
    const before = calls.length;
    const job = await run("sk-1", { model: "iris", experiment: "sk-it", command: [PYTHON, "examples/sklearn/train.py"], params: { C: "0.5" }, timeoutSeconds: 120 });
    expect(job.state, readLog("sk-1", 0)).toBe("succeeded");
    const out = fileURLToPath(job.artifactUri ?? "");
    const mlmodel = fs.readFileSync(path.join(out, "model", "MLmodel"), "utf8");
    expect(mlmodel).toContain("pickled_model: model.pkl");
    expect(mlmodel).toContain('labels: ["setosa", "versicolor", "virginica"]');
    const metrics = JSON.parse(fs.readFileSync(path.join(out, "metrics.json"), "utf8"));
    expect(metrics.accuracy).toBeGreaterThan(0.85);
    const baseline = JSON.parse(fs.readFileSync(path.join(out, "baseline.json"), "utf8"));
    expect(baseline.features.sepal_length.edges).toHaveLength(baseline.features.sepal_length.counts.length + 1);
    expect(calls.slice(before).filter((c) => c.endsWith("/runs/create"))).toHaveLength(1);
  });
});
