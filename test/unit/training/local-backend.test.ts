// LocalTrainingBackend with real child processes: env contract, ddp ranks, failures, timeout/cancel of process trees.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
import { SPARK_INSTALL_HINT } from "../../../platform/training/local/command.ts";
import type { JobUpdate } from "../../../platform/training/updates.ts";
import { TrainingSpecSchema, type TrainingSpecInput } from "../../../platform/specs/training.ts";
import type { JobRecord } from "../../../platform/ports.ts";

const dirs: string[] = [];
const backends: LocalTrainingBackend[] = [];
afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(extra: { killGraceMs?: number; dataDir?: string } = {}) {
  const dir = extra.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "fw-local-"));
  if (!extra.dataDir) dirs.push(dir);
  const updates: JobUpdate[] = [];
  const backend = new LocalTrainingBackend({
    dataDir: dir,
    workdir: dir,
    registry: { trackingUri: "http://127.0.0.1:9/", token: "tok" },
    onUpdate: (u) => void updates.push(u),
    env: { PATH: process.env.PATH },
    killGraceMs: extra.killGraceMs ?? 500,
  });
  backends.push(backend);
  const script = (name: string, body: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, body);
    return file;
  };
  let n = 0;
  const launch = (spec: TrainingSpecInput, jobId = `job-${++n}`) =>
    backend.launch({ jobId, spec: TrainingSpecSchema.parse(spec), trigger: { reason: "manual" }, causeEventId: `ev-${jobId}` });
  const until = async (id: string, pred: (j: JobRecord) => boolean) => {
    await expect.poll(async () => pred((await backend.get(id)) ?? ({} as JobRecord)), { timeout: 20_000, interval: 50 }).toBe(true);
    return (await backend.get(id)) as JobRecord;
  };
  return { dir, backend, updates, script, launch, until };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const node = process.execPath;
// A rank that starts a grandchild (its own child) and records both pids, then waits forever.
const TREE = `
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const g = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
fs.writeFileSync(process.env.FLYWHEEL_ARTIFACT_DIR + "/pids-" + process.env.RANK + ".json", JSON.stringify([process.pid, g.pid]));
console.log("started rank", process.env.RANK);
setInterval(() => {}, 1000);
`;

describe("LocalTrainingBackend", () => {
  it("runs a single job with the artifact contract's environment and records its history", async () => {
    const t = setup();
    const file = t.script("env.cjs", `require("node:fs").writeFileSync(process.env.FLYWHEEL_ARTIFACT_DIR + "/env.json", JSON.stringify(process.env)); console.log("hello"); console.error("warn line");`);
    const { job, created } = await t.launch({ model: "iris", experiment: "exp", command: [node, file], params: { lr: "0.1", "max-depth": "3" }, env: { EXTRA: "x" } });
    expect(created).toBe(true);
    const done = await t.until(job.id, (j) => j.state === "succeeded");
    const env = JSON.parse(fs.readFileSync(path.join(fileURLToPath(done.artifactUri ?? ""), "env.json"), "utf8"));
    expect(env).toMatchObject({
      FLYWHEEL_JOB_ID: job.id,
      FLYWHEEL_ARTIFACT_DIR: fileURLToPath(done.artifactUri ?? ""),
      FLYWHEEL_PARAMS: JSON.stringify({ lr: "0.1", "max-depth": "3" }),
      FLYWHEEL_PARAM_LR: "0.1",
      FLYWHEEL_PARAM_MAX_DEPTH: "3",
      MLFLOW_TRACKING_URI: "http://127.0.0.1:9/",
      MLFLOW_TRACKING_TOKEN: "tok",
      MLFLOW_EXPERIMENT_NAME: "exp",
      EXTRA: "x",
      RANK: "0",
    });
    expect(done.history.map((h) => h.state)).toEqual(["pending", "running", "succeeded"]);
    const lines: string[] = [];
    for await (const l of t.backend.logs(job.id)) lines.push(l);
    expect(lines).toEqual(expect.arrayContaining(["hello", "warn line"]));
    expect(fs.existsSync(path.join(t.dir, "jobs", job.id, "rank-0.log"))).toBe(true);
    await expect.poll(() => t.updates.map((u) => u.transition.state)).toEqual(["pending", "running", "succeeded"]);
  });

  it("is idempotent on jobId", async () => {
    const t = setup();
    const spec = { model: "iris", command: [node, "-e", "setTimeout(() => {}, 50)"] };
    const a = await t.launch(spec, "same");
    const b = await t.launch(spec, "same");
    expect([a.created, b.created]).toEqual([true, false]);
    expect(b.job.id).toBe("same");
    expect((await t.backend.list()).length).toBe(1);
  });

  it("gives ddp ranks torchrun's and the operator's variables", async () => {
    const t = setup();
    const file = t.script("ddp.cjs", `const e = process.env; require("node:fs").writeFileSync(e.FLYWHEEL_ARTIFACT_DIR + "/r" + e.RANK + ".json", JSON.stringify({RANK: e.RANK, LOCAL_RANK: e.LOCAL_RANK, WORLD_SIZE: e.WORLD_SIZE, LOCAL_WORLD_SIZE: e.LOCAL_WORLD_SIZE, GROUP_RANK: e.GROUP_RANK, MASTER_ADDR: e.MASTER_ADDR, MASTER_PORT: e.MASTER_PORT, PET_NNODES: e.PET_NNODES, PET_NPROC_PER_NODE: e.PET_NPROC_PER_NODE, PET_NODE_RANK: e.PET_NODE_RANK}));`);
    const { job } = await t.launch({ kind: "ddp", model: "m", command: [node, file], replicas: 2, procsPerReplica: 2 });
    const done = await t.until(job.id, (j) => j.state === "succeeded");
    expect(done.ranks).toBe(4);
    const dir = fileURLToPath(done.artifactUri ?? "");
    const envs = [0, 1, 2, 3].map((r) => JSON.parse(fs.readFileSync(path.join(dir, `r${r}.json`), "utf8")));
    const port = envs[0].MASTER_PORT;
    expect(Number(port)).toBeGreaterThan(0);
    expect(envs).toEqual([
      { RANK: "0", LOCAL_RANK: "0", WORLD_SIZE: "4", LOCAL_WORLD_SIZE: "2", GROUP_RANK: "0", MASTER_ADDR: "127.0.0.1", MASTER_PORT: port, PET_NNODES: "2", PET_NPROC_PER_NODE: "2", PET_NODE_RANK: "0" },
      { RANK: "1", LOCAL_RANK: "1", WORLD_SIZE: "4", LOCAL_WORLD_SIZE: "2", GROUP_RANK: "0", MASTER_ADDR: "127.0.0.1", MASTER_PORT: port, PET_NNODES: "2", PET_NPROC_PER_NODE: "2", PET_NODE_RANK: "0" },
      { RANK: "2", LOCAL_RANK: "0", WORLD_SIZE: "4", LOCAL_WORLD_SIZE: "2", GROUP_RANK: "1", MASTER_ADDR: "127.0.0.1", MASTER_PORT: port, PET_NNODES: "2", PET_NPROC_PER_NODE: "2", PET_NODE_RANK: "1" },
      { RANK: "3", LOCAL_RANK: "1", WORLD_SIZE: "4", LOCAL_WORLD_SIZE: "2", GROUP_RANK: "1", MASTER_ADDR: "127.0.0.1", MASTER_PORT: port, PET_NNODES: "2", PET_NPROC_PER_NODE: "2", PET_NODE_RANK: "1" },
    ]);
  });

  it("fails the job with the failing rank's exit code and log tail, and stops the other ranks' trees", async () => {
    const t = setup();
    const file = t.script(
      "fail.cjs",
      `if (process.env.RANK === "1") { for (let i = 0; i < 100; i++) console.log("line " + i); console.error("boom: bad data"); setTimeout(() => process.exit(3), 300); } else { ${TREE} }`,
    );
    const { job } = await t.launch({ kind: "ddp", model: "m", command: [node, file], replicas: 1, procsPerReplica: 2 });
    const done = await t.until(job.id, (j) => j.state === "failed");
    expect(done).toMatchObject({ failedRank: 1, exitCode: 3, failureReason: "NonZeroExit" });
    const failed = t.updates.find((u) => u.transition.state === "failed");
    await expect.poll(() => t.updates.some((u) => u.transition.state === "failed")).toBe(true);
    const tail = (failed ?? t.updates.find((u) => u.transition.state === "failed"))?.logTail ?? "";
    expect(tail).toContain("boom: bad data");
    expect(tail).toContain("line 99");
    expect(tail).not.toContain("line 0\n");
    const pids: number[] = JSON.parse(fs.readFileSync(path.join(fileURLToPath(done.artifactUri ?? ""), "pids-0.json"), "utf8"));
    await expect.poll(() => pids.map(alive), { timeout: 10_000 }).toEqual([false, false]);
  });

  it.each([
    ["timeout", { timeoutSeconds: 1 }, "failed", "Timeout"],
    ["cancel", {}, "cancelled", "Cancelled"],
  ])("%s kills the whole process tree", async (what, extra, state, reason) => {
    const t = setup();
    const file = t.script("tree.cjs", TREE);
    const { job } = await t.launch({ model: "m", command: [node, file], ...extra });
    const pidsFile = path.join(t.dir, "jobs", job.id, "artifacts", "pids-0.json");
    await expect.poll(() => fs.existsSync(pidsFile), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => fs.readFileSync(pidsFile, "utf8").length > 0).toBe(true);
    const pids: number[] = JSON.parse(fs.readFileSync(pidsFile, "utf8"));
    expect(pids.map(alive)).toEqual([true, true]);
    if (what === "cancel") {
      const cancelled = await t.backend.cancel(job.id);
      expect(cancelled.state).toBe("cancelled");
    }
    const done = await t.until(job.id, (j) => j.state === state);
    expect(done.history.at(-1)?.reason).toBe(reason);
    await expect.poll(() => pids.map(alive), { timeout: 10_000 }).toEqual([false, false]);
  });

  it("fails a launch whose command does not exist, and the log says why", async () => {
    const t = setup();
    const { job } = await t.launch({ model: "m", command: ["/nonexistent/trainer"] });
    const done = await t.until(job.id, (j) => j.state === "failed");
    expect(done.failureReason).toBe("SpawnFailed");
    const lines: string[] = [];
    for await (const l of t.backend.logs(job.id, { follow: true })) lines.push(l);
    expect(lines.join("\n")).toContain("command not found: /nonexistent/trainer");
  });

  it("fails kind spark with install instructions when spark-submit is missing", async () => {
    const t = setup();
    const { job } = await t.launch({ kind: "spark", model: "m", command: ["app.py"], executors: 2 });
    expect(job.state).toBe("failed");
    expect(job.failureReason).toBe("SparkNotFound");
    expect(job.message).toBe(SPARK_INSTALL_HINT);
  });

  it("runs spark-submit --master local[N] when it is on PATH", async () => {
    const t = setup();
    const bin = path.join(t.dir, "bin");
    fs.mkdirSync(bin);
    const fake = path.join(bin, "spark-submit");
    fs.writeFileSync(fake, `#!${node}\nrequire("node:fs").writeFileSync(process.env.FLYWHEEL_ARTIFACT_DIR + "/argv.json", JSON.stringify(process.argv.slice(2)));\n`, { mode: 0o755 });
    const b = new LocalTrainingBackend({ dataDir: path.join(t.dir, "d2"), workdir: t.dir, env: { PATH: `${bin}:${process.env.PATH}` }, killGraceMs: 200 });
    backends.push(b);
    const { job } = await b.launch({ jobId: "s", spec: TrainingSpecSchema.parse({ kind: "spark", model: "m", command: ["app.py"], args: ["--rows", "10"], executors: 3 }), trigger: { reason: "manual" }, causeEventId: "e" });
    await expect.poll(async () => (await b.get(job.id))?.state, { timeout: 10_000 }).toBe("succeeded");
    const argv = JSON.parse(fs.readFileSync(path.join(b.jobDir("s"), "artifacts", "argv.json"), "utf8"));
    expect(argv).toEqual(["--master", "local[3]", "--name", "m", "--conf", "spark.executorEnv.PYTHONUNBUFFERED=1", "app.py", "--rows", "10"]);
  });

  it("marks jobs left running by a dead platform as Orphaned and kills what they left", async () => {
    const t = setup();
    const file = t.script("tree.cjs", TREE);
    const { job } = await t.launch({ model: "m", command: [node, file] });
    const pidsFile = path.join(t.dir, "jobs", job.id, "artifacts", "pids-0.json");
    await expect.poll(() => fs.existsSync(pidsFile) && fs.readFileSync(pidsFile, "utf8").length > 0, { timeout: 10_000 }).toBe(true);
    const pids: number[] = JSON.parse(fs.readFileSync(pidsFile, "utf8"));
    // A second backend on the same data dir stands for the restarted platform (the first one "died": no close()).
    const restarted = new LocalTrainingBackend({ dataDir: t.dir, env: {}, killGraceMs: 200 });
    backends.push(restarted);
    const after = await restarted.get(job.id);
    expect(after?.state).toBe("failed");
    expect(after?.failureReason).toBe("Orphaned");
    await expect.poll(() => pids.map(alive), { timeout: 10_000 }).toEqual([false, false]);
  });

  it("runs a source.path entry file with its interpreter, in its own directory", async () => {
    const t = setup();
    fs.mkdirSync(path.join(t.dir, "proj"));
    t.script("proj/entry.cjs", `require("node:fs").writeFileSync(process.env.FLYWHEEL_ARTIFACT_DIR + "/cwd.txt", process.cwd() + " " + process.argv.slice(2).join(","));`);
    const { job } = await t.launch({ model: "m", source: { path: "proj/entry.cjs" }, args: ["a", "b"] });
    const done = await t.until(job.id, (j) => j.state === "succeeded");
    expect(fs.readFileSync(path.join(fileURLToPath(done.artifactUri ?? ""), "cwd.txt"), "utf8")).toBe(`${path.join(t.dir, "proj")} a,b`);
    const missing = await t.launch({ model: "m", source: { path: "nope.py" } });
    expect(missing.job).toMatchObject({ state: "failed", failureReason: "SourceNotFound" });
  });

  it("rejects a log rank outside the job and an unknown job", async () => {
    const t = setup();
    const { job } = await t.launch({ model: "m", command: [node, "-e", "1"] });
    expect(() => t.backend.logs(job.id, { rank: 1 })).toThrow(/rank/);
    expect(() => t.backend.logs("nope")).toThrow(/not found/);
  });
});
