// Window dataset retention: the newest N per model, plus windows an unfinished training or a registered version uses;
// recent writes and unknown use are left alone; two passes at once (two replicas, a redelivery) do not trip on ENOENT.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { pruneWindows, WINDOW_GRACE_MS, type WindowRetention, type WindowUse } from "../../../platform/datasets/retention.ts";
import { FileDataWindows } from "../../../platform/datasets/window.ts";
import { backendActiveJobs, registeredWindows, versionWindows } from "../../../platform/datasets/window-use.ts";
import { FileInferenceLog } from "../../../platform/inference-log/index.ts";
import { createLogger, type Logger } from "../../../platform/log.ts";
import { TrainingSpecSchema } from "../../../platform/specs/training.ts";
import { LocalTrainingBackend } from "../../../platform/training/local/backend.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "window-retention-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const DAY = 86_400_000;
const T = Date.parse("2026-12-06T10:00:00Z");
const NOW = T + 30 * DAY;
const spec = TrainingSpecSchema.parse({ model: "iris", command: ["x"], dataWindow: { days: 7 } });
const store = new FileInferenceLog(path.join(tmp, "log"));
store.addLabelled([{ requestId: "a", row: 0, time: T, labelledAt: T, deployment: "iris", model: "iris", version: "1", features: { x: 1 }, label: "b", predicted: "a" }]);

let root: string;
let n = 0;
beforeEach(() => {
  root = path.join(tmp, `datasets-${n++}`);
});

const warnings: unknown[] = [];
const log: Logger = { ...createLogger("silent"), warn: (msg: string, f?: Record<string, unknown>) => void warnings.push({ msg, ...f }) };
const use = (o: { active?: string[]; registered?: string[]; fail?: boolean } = {}): WindowUse => ({
  activeJobs: async () => {
    await new Promise((r) => setImmediate(r));
    if (o.fail) throw new Error("registry unreachable");
    return o.active ?? [];
  },
  registered: async () => o.registered ?? [],
});
const retention = (keep: number, u: WindowUse = use()): WindowRetention => ({ keep, use: u, log, now: () => NOW });

/** Six windows job-0 (oldest) .. job-5, written an hour before NOW (past the grace period). */
function sixWindows(r?: WindowRetention): { windows: FileDataWindows; files: string[] } {
  const windows = new FileDataWindows({ store, dir: root, retention: r });
  const files = Array.from({ length: 6 }, (_, i) => windows.materialize(spec, `job-${i}`, T + i * DAY)?.uri ?? "").map((u) => new URL(u).pathname);
  age(files, NOW - 3_600_000);
  return { windows, files };
}
function age(files: string[], at: number): void {
  for (const f of files.flatMap((f) => [f, `${f}.json`])) if (fs.existsSync(f)) fs.utimesSync(f, at / 1000, at / 1000);
}
const left = (): string[] => fs.readdirSync(path.join(root, "iris")).sort();

describe("window dataset retention", () => {
  it("keeps the newest N, an unfinished training's window and a registered version's; deletes the rest with their meta", async () => {
    const { windows, files } = sixWindows(retention(2, use({ active: ["job-1"], registered: [pathToFileURL(`${root}/iris/job-0.csv`).href] })));
    const removed = await windows.prune("iris");
    expect(removed.map((f) => path.basename(f)).sort()).toEqual(["job-2.csv", "job-3.csv"]);
    expect(left()).toEqual(["job-0.csv", "job-0.csv.json", "job-1.csv", "job-1.csv.json", "job-4.csv", "job-4.csv.json", "job-5.csv", "job-5.csv.json"]);
    // At-least-once: the same pass again deletes nothing more, and a redelivered launch finds its window as before.
    expect(await windows.prune("iris")).toEqual([]);
    expect(windows.materialize(spec, "job-5", T + 9 * DAY)?.uri).toBe(pathToFileURL(files[5] ?? "").href);
  });

  it("leaves windows written within the grace period (a launch in flight elsewhere), and prunes nothing when use is unknown", async () => {
    const { files } = sixWindows();
    age(files.slice(0, 3), NOW - WINDOW_GRACE_MS + 60_000);
    expect(await pruneWindows(root, "iris", retention(1))).toHaveLength(2);
    expect(left().filter((f) => f.endsWith(".csv"))).toEqual(["job-0.csv", "job-1.csv", "job-2.csv", "job-5.csv"]);
    warnings.length = 0;
    age(files, NOW - 3_600_000);
    expect(await pruneWindows(root, "iris", retention(1, use({ fail: true })))).toEqual([]);
    expect(left().filter((f) => f.endsWith(".csv"))).toHaveLength(4);
    expect(warnings).toEqual([expect.objectContaining({ msg: expect.stringMatching(/not pruned/), model: "iris", message: "registry unreachable" })]);
    // keep 0: retention off.
    expect(await pruneWindows(root, "iris", retention(0))).toEqual([]);
  });

  it("two replicas pruning at once both finish, and together delete each old window once", async () => {
    sixWindows();
    const passes = await Promise.all([pruneWindows(root, "iris", retention(2)), pruneWindows(root, "iris", retention(2))]);
    // Both listed the same four old windows before either deleted (the use lookup awaits in between).
    expect(passes.map((p) => p.length)).toEqual([4, 4]);
    expect(left()).toEqual(["job-4.csv", "job-4.csv.json", "job-5.csv", "job-5.csv.json"]);
  });

  it("removes a CSV left without its meta and a crashed write's temp file, once they are past the grace period", async () => {
    const { files } = sixWindows();
    const [first] = files;
    fs.rmSync(`${first}.json`);
    fs.writeFileSync(path.join(root, "iris", "job-9.csv.tmp"), "x\n");
    const fresh = path.join(root, "iris", "job-8.csv.tmp");
    fs.writeFileSync(fresh, "x\n");
    age([first ?? "", path.join(root, "iris", "job-9.csv.tmp")], NOW - 3_600_000);
    age([fresh], NOW);
    await pruneWindows(root, "iris", retention(10));
    expect(left().filter((f) => !f.endsWith(".json"))).toEqual(["job-1.csv", "job-2.csv", "job-3.csv", "job-4.csv", "job-5.csv", "job-8.csv.tmp"]);
  });

  it("reads a version's windows from its data tag and its training spec's env, ignoring what is not JSON", async () => {
    const versions: { tags: Record<string, string> }[] = [
      { tags: { "flywheel.data": JSON.stringify({ window: { uri: "file:///a/iris/job-1.csv", rows: 3 } }), "flywheel.training_spec": JSON.stringify({ env: { FLYWHEEL_WINDOW_DATASET: "file:///a/iris/job-1b.csv" } }) } },
      { tags: { "flywheel.data": "not json", "flywheel.training_spec": JSON.stringify({ env: [] }) } },
      { tags: {} },
    ];
    expect(versionWindows(versions[0] ?? { tags: {} })).toEqual(["file:///a/iris/job-1.csv", "file:///a/iris/job-1b.csv"]);
    expect([...(await registeredWindows(async () => versions)("iris"))]).toEqual(["file:///a/iris/job-1.csv", "file:///a/iris/job-1b.csv"]);
  });
});

it("embedded: the local backend's unfinished jobs of the model are the active ones", async () => {
  const backend = new LocalTrainingBackend({ dataDir: path.join(tmp, "jobs"), workdir: tmp, cgroup: { mode: "off" } });
  const launch = (jobId: string, model: string, code: string) =>
    backend.launch({ jobId, spec: TrainingSpecSchema.parse({ model, command: [process.execPath, "-e", code] }), trigger: { reason: "manual" }, causeEventId: jobId });
  try {
    await launch("done", "iris", "");
    await expect.poll(async () => (await backend.get("done"))?.state, { timeout: 20_000 }).toBe("succeeded");
    await launch("busy", "iris", "setTimeout(() => {}, 60000)");
    await launch("other", "wine", "setTimeout(() => {}, 60000)");
    expect([...(await backendActiveJobs(backend)("iris"))]).toEqual(["busy"]);
  } finally {
    await backend.cancel("busy");
    await backend.cancel("other");
    await backend.close();
  }
});
