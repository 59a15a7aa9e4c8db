// Crash test on the whole platform: `flywheel up` as a child process, kill -9 while deliveries are pending, restart.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { buildEvent, toHttpBinary } from "../../../platform/events/envelope.ts";
import { jobIdFor } from "../../../platform/training/updates.ts";
import { until } from "../../support/platform.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const TOKEN = "crash-test-token-0123456789abcdef";
const N = 40;
const children: ChildProcess[] = [];

function startPlatform(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "platform/cli/main.ts"), "up", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLYWHEEL_AUTH_TOKEN: TOKEN, FLYWHEEL_LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /up on (http:\/\/[^\s]+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1] });
    });
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => reject(new Error(`platform exited ${code}: ${err}`)));
  });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("kill -9 with deliveries pending", () => {
  it("delivers every event after a restart and launches each job once", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-crash-"));
    const launches = path.join(dataDir, "launches");
    fs.mkdirSync(launches);
    const first = await startPlatform(dataDir);

    // Each job's only effect is one new uniquely-named file whose prefix is its model: a relaunch would add a second.
    const events = Array.from({ length: N }, (_, i) =>
      buildEvent("training.requested", { model: `crash-${i}`, command: ["mktemp", "-p", launches, `crash-${i}.XXXXXX`], timeoutSeconds: 60 }, { source: "/test/crash", id: `crash-event-${i}` }),
    );
    const statuses = await Promise.all(
      events.map(async (ce) => {
        const { headers, body } = toHttpBinary(ce);
        const res = await fetch(`${first.url}/events`, { method: "POST", headers: { ...headers, authorization: `Bearer ${TOKEN}` }, body });
        return res.status;
      }),
    );
    expect(statuses.every((s) => s === 202)).toBe(true);
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));

    // What the broker had not finished when it died (read straight from its database).
    const db = new Database(path.join(dataDir, "broker.sqlite"), { readonly: true });
    const unfinished = db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE state IN ('pending', 'inflight')").get() as { n: number };
    const stored = db.prepare("SELECT COUNT(*) AS n FROM events WHERE source = '/test/crash'").get() as { n: number };
    db.close();
    expect(stored.n).toBe(N); // 202 meant durably stored

    const second = await startPlatform(dataDir);
    const headers = { authorization: `Bearer ${TOKEN}` };
    for (let i = 0; i < N; i++) {
      const id = jobIdFor(`crash-${i}`, `crash-event-${i}`);
      await until(`job ${id}`, async () => {
        const res = await fetch(`${second.url}/api/v1/jobs/${id}`, { headers });
        if (!res.ok) return undefined;
        const job = (await res.json()) as { state: string };
        return ["succeeded", "failed", "cancelled"].includes(job.state) ? job : undefined;
      }, 60_000);
    }
    const files = fs.readdirSync(launches);
    const perModel = new Map<string, number>();
    for (const f of files) {
      const model = f.replace(/\.[^.]+$/, "");
      perModel.set(model, (perModel.get(model) ?? 0) + 1);
    }
    // No job ran twice. A job killed mid-launch is marked Orphaned rather than re-run, so it may have run zero times.
    expect([...perModel.values()].every((n) => n === 1)).toBe(true);
    const jobs = (await (await fetch(`${second.url}/api/v1/jobs?limit=200`, { headers })).json()) as { jobs: { id: string; state: string; failureReason?: string }[] };
    expect(jobs.jobs).toHaveLength(N);
    for (const j of jobs.jobs) {
      if (j.state !== "succeeded") expect(j.failureReason).toBe("Orphaned");
    }
    expect(files.length).toBeGreaterThanOrEqual(N - jobs.jobs.filter((j) => j.state !== "succeeded").length);
    // Report how much the crash left undone, so a run that crashed too late is visible in the output.
    console.log(`crash test: ${unfinished.n} deliveries unfinished at kill -9, ${files.length}/${N} jobs ran`);
    second.child.kill("SIGTERM");
  }, 180_000);
});
