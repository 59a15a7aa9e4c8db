// Cancel and timeout reach a grandchild that left the job's process group with setsid (issue 17 item 10): the job's
// marker in every process's environment finds it through /proc. Real processes, a real `setsid`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
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
/** Field 6 of /proc/<pid>/stat: the session id. */
const sessionOf = (pid: number): number => Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[3]);

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-setsid-"));
  // The cgroup is off: this covers the fallback, the environment marker found through /proc.
  const backend = new LocalTrainingBackend({ dataDir: dir, workdir: dir, env: { PATH: process.env.PATH }, killGraceMs: 300, cgroup: { mode: "off" } });
  cleanups.push(async () => {
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const pidFile = path.join(dir, "escapee.pid");
  // The rank starts `setsid sh -c 'echo $$ > FILE; exec sleep 1000'`: a grandchild in a new session and process
  // group, out of reach of a kill of the rank's group.
  const setsid = requireBinary("/usr/bin/setsid", "util-linux");
  const rank = `
    const { spawn } = require("node:child_process");
    spawn(${JSON.stringify(setsid)}, ["sh", "-c", "echo $$ > " + ${JSON.stringify(pidFile)} + "; exec sleep 1000"], { stdio: "ignore" }).unref();
    setInterval(() => {}, 1000);
  `;
  const launch = (id: string, extra: Partial<TrainingSpecInput> = {}) =>
    backend.launch({ jobId: id, spec: TrainingSpecSchema.parse({ model: "m", command: [process.execPath, "-e", rank], ...extra }), trigger: { reason: "manual" }, causeEventId: `ev-${id}` });
  const escapee = async (): Promise<number> => {
    await expect.poll(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").trim() !== "", { timeout: 15_000, interval: 50 }).toBe(true);
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    cleanups.push(() => {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    });
    expect(alive(pid)).toBe(true);
    expect(sessionOf(pid)).toBe(pid); // it leads its own session: the group kill cannot reach it
    return pid;
  };
  return { backend, launch, escapee };
}

describe("a setsid grandchild", () => {
  it("is killed by cancel", async () => {
    const t = setup();
    const { job } = await t.launch("cancel-1");
    const pid = await t.escapee();
    await t.backend.cancel(job.id);
    await expect.poll(() => alive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
  }, 30_000);

  it("is killed by the timeout", async () => {
    const t = setup();
    const { job } = await t.launch("timeout-1", { timeoutSeconds: 2 });
    const pid = await t.escapee();
    await expect.poll(async () => (await t.backend.get(job.id))?.state, { timeout: 15_000, interval: 100 }).toBe("failed");
    await expect.poll(() => alive(pid), { timeout: 10_000, interval: 50 }).toBe(false);
  }, 30_000);
});
