// The data directory is the owner's alone (issue 17 item 11): 0700, and every database, secret and job log in it 0600,
// whatever the umask. A real embedded platform that has run a training job.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, until, type TestPlatform } from "../../support/platform.ts";

let p: TestPlatform;
let dir: string;
let oldUmask: number | undefined;

beforeAll(async () => {
  // A permissive umask, as on many desktops: modes must not depend on it.
  try {
    oldUmask = process.umask(0o002);
  } catch {
    oldUmask = undefined; // worker threads cannot set it; the default 022 still exposes files as 0644
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-private-"));
  fs.chmodSync(dir, 0o755);
  p = await startTestPlatform({}, dir);
}, 60_000);

afterAll(async () => {
  await p.stop();
  if (oldUmask !== undefined) process.umask(oldUmask);
  fs.rmSync(dir, { recursive: true, force: true });
});

const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
const mode = (f: string): string => (fs.statSync(f).mode & 0o777).toString(8);

describe("data directory modes", () => {
  it("the directory is 0700; databases, secrets and job logs are 0600", async () => {
    const { jobId } = await p.api.request<{ jobId: string }>("POST", "/api/v1/jobs", { model: "iris", command: [process.execPath, "-e", "console.log('secret output')"] });
    await until("the job ends", async () => {
      const j = await p.api.request<{ state: string }>("GET", `/api/v1/jobs/${jobId}`);
      return ["succeeded", "failed"].includes(j.state) ? j : undefined;
    });
    expect(mode(dir)).toBe("700");
    const files = walk(dir);
    const sensitive = files.filter((f) => /\.sqlite(-wal|-shm)?$|auth-token$|session-key$|\.log$/.test(f));
    expect(sensitive.some((f) => f.endsWith("registry.sqlite"))).toBe(true);
    expect(sensitive.some((f) => f.endsWith(".log"))).toBe(true);
    expect(Object.fromEntries(sensitive.map((f) => [path.relative(dir, f), mode(f)]))).toEqual(Object.fromEntries(sensitive.map((f) => [path.relative(dir, f), "600"])));
  }, 60_000);
});
