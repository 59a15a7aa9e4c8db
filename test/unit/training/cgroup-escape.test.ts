// Cancel, timeout and the job's end reach a setsid escapee that also wiped its environment (issue 17 item 10): only the
// job's cgroup v2 holds it, the marker cannot see it. Real processes, a real cgroup; no writable cgroup v2 fails.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../platform/log.ts";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
import { cgroupParent } from "../../../platform/training/local/cgroup.ts";
import { JOB_MARKER_ENV } from "../../../platform/training/local/marker.ts";
import { TrainingSpecSchema, type TrainingSpecInput } from "../../../platform/specs/training.ts";
import { requireBinary } from "../../support/require-binary.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
  } catch {
    return false;
  }
};
/** The cgroup v2 path of a process (the `0::` line of /proc/<pid>/cgroup). */
const cgroupOf = (pid: number): string | undefined =>
  fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"))?.slice(3);

/** The parent job cgroups go under; a machine without a writable cgroup v2 fails here with one line. */
function requireCgroupParent(): string {
  const parent = cgroupParent({ mode: "auto" });
  if (!parent.ok) throw new Error(`no writable cgroup v2 on this machine (${parent.why}): run as root with cgroup2 mounted`);
  return parent.dir;
}

function setup() {
  const parentDir = requireCgroupParent();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-cgroup-"));
  const backend = new LocalTrainingBackend({ dataDir: dir, workdir: dir, env: { PATH: process.env.PATH }, killGraceMs: 300, cgroup: { mode: "auto" } });
  cleanups.push(async () => {
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const pidFile = path.join(dir, "escapee.pid");
  const setsid = requireBinary("/usr/bin/setsid", "util-linux");
  const env = requireBinary("/usr/bin/env", "coreutils");
  // `setsid env -i sh -c ...`: a new session and process group AND an empty environment, so neither the group kill nor
  // the FLYWHEEL_JOB_MARKER scan can find it. The rank then stays, or exits 0 1.5 s after the escapee is up.
  const rank = (stay: boolean): string => `
    const { spawn } = require("node:child_process");
    spawn(${JSON.stringify(setsid)}, [${JSON.stringify(env)}, "-i", "/bin/sh", "-c", "echo $$ > " + ${JSON.stringify(pidFile)} + "; exec /bin/sleep 1000"], { stdio: "ignore" }).unref();
    ${stay ? "setInterval(() => {}, 1000);" : `const f = ${JSON.stringify(pidFile)}; const t = setInterval(() => { try { if (require("node:fs").readFileSync(f, "utf8").trim()) { clearInterval(t); setTimeout(() => process.exit(0), 1500); } } catch {} }, 20);`}
  `;
  // Unique per run: parallel runs on one machine share the parent cgroup.
  const id = (name: string): string => `${name}-${randomBytes(4).toString("hex")}`;
  const launch = (jobId: string, stay: boolean, extra: Partial<TrainingSpecInput> = {}) =>
    backend.launch({ jobId, spec: TrainingSpecSchema.parse({ model: "m", command: [process.execPath, "-e", rank(stay)], ...extra }), trigger: { reason: "manual" }, causeEventId: `ev-${jobId}` });
  /** The escapee's pid, after checking it sits in this job's cgroup and carries no marker; and that cgroup's dir. */
  const escapee = async (jobId: string): Promise<{ pid: number; cgroupDir: string }> => {
    await expect.poll(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").trim() !== "", { timeout: 15_000, interval: 50 }).toBe(true);
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    cleanups.push(() => {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    });
    expect(alive(pid)).toBe(true);
    expect(fs.readFileSync(`/proc/${pid}/environ`, "utf8")).not.toContain(JOB_MARKER_ENV);
    const mine = fs.readdirSync(parentDir).filter((n) => n.startsWith(`${jobId}.`));
    expect(mine).toHaveLength(1);
    const cgroupDir = path.join(parentDir, mine[0] ?? "");
    expect(cgroupOf(pid)).toMatch(new RegExp(`/flywheel/${mine[0]?.replace(/\./g, "\\.") ?? ""}$`));
    expect(fs.readFileSync(path.join(cgroupDir, "cgroup.procs"), "utf8").split("\n")).toContain(String(pid));
    return { pid, cgroupDir };
  };
  return { backend, launch, escapee, id, dir, rank };
}

describe("a setsid escapee with a wiped environment, in the job's cgroup", () => {
  it("is killed by cancel, and the job's cgroup is removed", async () => {
    const t = setup();
    const jobId = t.id("cancel");
    const { job } = await t.launch(jobId, true);
    const { pid, cgroupDir } = await t.escapee(jobId);
    const cancelled = await t.backend.cancel(job.id);
    expect(cancelled.state).toBe("cancelled");
    await expect.poll(() => alive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
    await expect.poll(() => fs.existsSync(cgroupDir), { timeout: 10_000, interval: 50 }).toBe(false);
  }, 30_000);

  it("is killed by the timeout, and the job's cgroup is removed", async () => {
    const t = setup();
    const jobId = t.id("timeout");
    const { job } = await t.launch(jobId, true, { timeoutSeconds: 2 });
    const { pid, cgroupDir } = await t.escapee(jobId);
    await expect.poll(async () => (await t.backend.get(job.id))?.failureReason, { timeout: 15_000, interval: 100 }).toBe("Timeout");
    await expect.poll(() => alive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
    await expect.poll(() => fs.existsSync(cgroupDir), { timeout: 10_000, interval: 50 }).toBe(false);
  }, 30_000);

  it("does not outlive a job that succeeded", async () => {
    const t = setup();
    const jobId = t.id("done");
    const { job } = await t.launch(jobId, false);
    const { pid, cgroupDir } = await t.escapee(jobId);
    await expect.poll(async () => (await t.backend.get(job.id))?.state, { timeout: 15_000, interval: 100 }).toBe("succeeded");
    await expect.poll(() => alive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
    await expect.poll(() => fs.existsSync(cgroupDir), { timeout: 10_000, interval: 50 }).toBe(false);
  }, 30_000);

  it("is killed by a restarted platform when the one that started it died (SIGKILL)", async () => {
    const t = setup();
    const jobId = t.id("orphan");
    // The first platform is a real process that launches the job and is then SIGKILLed: nothing of it cleans up.
    const entry = path.join(t.dir, "platform.mts");
    const backendTs = path.resolve(import.meta.dirname, "../../../platform/training/local/backend.ts");
    const specTs = path.resolve(import.meta.dirname, "../../../platform/specs/training.ts");
    fs.writeFileSync(
      entry,
      `import { LocalTrainingBackend } from ${JSON.stringify(backendTs)};
       import { TrainingSpecSchema } from ${JSON.stringify(specTs)};
       const b = new LocalTrainingBackend({ dataDir: ${JSON.stringify(t.dir)}, workdir: ${JSON.stringify(t.dir)}, env: { PATH: process.env.PATH }, cgroup: { mode: "auto" } });
       await b.launch({ jobId: ${JSON.stringify(jobId)}, spec: TrainingSpecSchema.parse({ model: "m", command: [process.execPath, "-e", ${JSON.stringify(t.rank(true))}] }), trigger: { reason: "manual" }, causeEventId: "ev" });
       setInterval(() => {}, 1000);`,
    );
    const platform = spawn(process.execPath, ["--import", "tsx", entry], { stdio: "ignore" });
    cleanups.push(() => {
      platform.kill("SIGKILL");
    });
    const { pid, cgroupDir } = await t.escapee(jobId);
    const exited = new Promise((r) => platform.once("exit", r));
    platform.kill("SIGKILL");
    await exited;
    expect(alive(pid)).toBe(true);
    const restarted = new LocalTrainingBackend({ dataDir: t.dir, env: {}, killGraceMs: 200, cgroup: { mode: "auto" } });
    cleanups.push(() => restarted.close());
    expect((await restarted.get(jobId))?.failureReason).toBe("Orphaned");
    await expect.poll(() => alive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
    await expect.poll(() => fs.existsSync(cgroupDir), { timeout: 10_000, interval: 50 }).toBe(false);
  }, 30_000);
});

describe("a cgroup setting that cannot work", () => {
  it("never fails the launch: the job runs with the marker alone, and the reason is logged once", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-cgroup-bad-"));
    const warnings: string[] = [];
    const log = createLogger("warn", {}, (line) => warnings.push(line));
    // A plain directory is no cgroup v2 directory.
    const backend = new LocalTrainingBackend({ dataDir: dir, workdir: dir, env: { PATH: process.env.PATH }, cgroup: { mode: "path", path: dir }, log });
    cleanups.push(async () => {
      await backend.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    for (const jobId of ["bad-1", "bad-2"]) {
      await backend.launch({ jobId, spec: TrainingSpecSchema.parse({ model: "m", command: [process.execPath, "-e", "process.exit(0)"] }), trigger: { reason: "manual" }, causeEventId: `ev-${jobId}` });
      await expect.poll(async () => (await backend.get(jobId))?.state, { timeout: 15_000, interval: 50 }).toBe("succeeded");
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("is not a cgroup v2 directory");
  }, 30_000);
});
