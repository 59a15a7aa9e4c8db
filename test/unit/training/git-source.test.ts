// A git source: the runner clones it (real git, a local repository behind an https URL via git's insteadOf) and records
// the commit it checked out in source.json, which log-model turns into the code version.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";
import { TrainingSpecSchema } from "../../../platform/specs/training.ts";

const dirs: string[] = [];
let backend: LocalTrainingBackend | undefined;
afterEach(async () => {
  await backend?.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

it("records the cloned commit of a git source in source.json", async () => {
  if (!fs.existsSync("/usr/bin/git")) throw new Error("git is missing: apt-get install git");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fw-git-"));
  dirs.push(dir);
  const repo = path.join(dir, "repo");
  fs.mkdirSync(repo);
  const git = (...args: string[]): string =>
    execFileSync("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", ...args], { encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  fs.writeFileSync(path.join(repo, "train.mjs"), "process.exit(0)\n");
  git("add", ".");
  git("commit", "-q", "-m", "train");
  const head = git("rev-parse", "HEAD");

  const url = "https://git.flywheel.test/iris.git";
  backend = new LocalTrainingBackend({
    dataDir: path.join(dir, "data"),
    workdir: dir,
    // git reads config from the environment: the https URL resolves to the local repository, no network involved.
    env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: `url.${repo}.insteadOf`, GIT_CONFIG_VALUE_0: url },
    killGraceMs: 500,
  });
  const spec = TrainingSpecSchema.parse({ model: "iris", source: { git: url, ref: "main", entry: "train.mjs" }, command: [process.execPath, "train.mjs"] });
  await backend.launch({ jobId: "git-1", spec, trigger: { reason: "manual" }, causeEventId: "ev-git-1" });
  await expect.poll(async () => (await backend?.get("git-1"))?.state, { timeout: 20_000, interval: 50 }).toBe("succeeded");
  const job = await backend.get("git-1");
  const source: unknown = JSON.parse(fs.readFileSync(path.join(fileURLToPath(job?.artifactUri ?? ""), "source.json"), "utf8"));
  expect(source).toEqual({ git: url, ref: "main", commit: head });
});
