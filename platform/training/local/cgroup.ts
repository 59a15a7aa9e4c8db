// Per-job cgroup v2 (issue 17): every process a job starts, setsid escapees with a wiped environment included, is killed.
import fs from "node:fs";
import path from "node:path";
import type { CgroupSetting } from "../../config/index.ts";
import type { Logger } from "../../log.ts";

export type { CgroupSetting };

export type CgroupParent = { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly why: string };

/** Mount points of cgroup2 file systems, with the hierarchy path each mount shows (field 4 of mountinfo). */
function cgroup2Mounts(): { mount: string; root: string }[] {
  let text: string;
  try {
    text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const out: { mount: string; root: string }[] = [];
  for (const line of text.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!pre || !post || post.split(" ")[0] !== "cgroup2") continue;
    const f = pre.split(" ");
    // mountinfo escapes spaces and the like as octal (\040).
    const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (f[3] !== undefined && f[4] !== undefined) out.push({ root: unescape(f[3]), mount: unescape(f[4]) });
  }
  return out;
}

/** This process's cgroup v2 path (the `0::` line of /proc/self/cgroup). */
function ownCgroup(): string | undefined {
  try {
    const line = fs.readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}

/** A directory is usable when it is (or can be made) a cgroup v2 directory we may create children in and move pids to. */
function usable(dir: string): string | undefined {
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(path.join(dir, "cgroup.procs"))) return `${dir} is not a cgroup v2 directory`;
    fs.accessSync(dir, fs.constants.W_OK);
    return undefined;
  } catch (e) {
    return `${dir}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * The directory job cgroups are created in. Auto: `flywheel/` under this process's own cgroup (where a delegated
 * systemd scope lets us write), else under the cgroup2 mount root (hybrid hosts mount it at /sys/fs/cgroup/unified).
 */
export function cgroupParent(setting: CgroupSetting): CgroupParent {
  if (setting.mode === "off") return { ok: false, why: "FLYWHEEL_TRAINING_CGROUP=off" };
  if (setting.mode === "path") {
    const why = usable(setting.path);
    return why ? { ok: false, why } : { ok: true, dir: setting.path };
  }
  const mounts = cgroup2Mounts();
  if (mounts.length === 0) return { ok: false, why: "no cgroup2 file system is mounted" };
  const own = ownCgroup();
  const reasons: string[] = [];
  for (const m of mounts) {
    const candidates: string[] = [];
    if (own !== undefined && (m.root === "/" || own.startsWith(m.root))) {
      candidates.push(path.join(m.mount, m.root === "/" ? own : own.slice(m.root.length), "flywheel"));
    }
    candidates.push(path.join(m.mount, "flywheel"));
    for (const c of new Set(candidates)) {
      const why = usable(c);
      if (!why) return { ok: true, dir: c };
      reasons.push(why);
    }
  }
  return { ok: false, why: `no writable cgroup v2 directory (${reasons.join("; ")})` };
}

/** The directory name of a job cgroup: ids are validated upstream, but a path separator must never reach mkdir. */
export const cgroupName = (name: string): string => name.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_").slice(0, 200) || "job";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One job's cgroup: processes added to it stay in it with all their descendants, whatever session they start. */
export class JobCgroup {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Create `<parent>/<name>` (name sanitized to a safe directory name). Throws when the kernel refuses. */
  static create(parent: string, name: string): JobCgroup {
    const dir = path.join(parent, cgroupName(name));
    fs.mkdirSync(dir);
    return new JobCgroup(dir);
  }

  /** A job cgroup a previous platform process left behind (its dir recorded in the job's directory), if still there. */
  static existing(dir: string): JobCgroup | undefined {
    return fs.existsSync(path.join(dir, "cgroup.procs")) ? new JobCgroup(dir) : undefined;
  }

  /** Move a pid in; its later children are born inside. Returns the error message when the write failed. */
  add(pid: number | undefined): string | undefined {
    if (!pid) return undefined;
    try {
      fs.writeFileSync(path.join(this.dir, "cgroup.procs"), String(pid));
      return undefined;
    } catch (e) {
      // ESRCH: the process already exited, nothing left to contain.
      if (e instanceof Error && "code" in e && e.code === "ESRCH") return undefined;
      return e instanceof Error ? e.message : String(e);
    }
  }

  pids(): number[] {
    try {
      return fs.readFileSync(path.join(this.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
    } catch {
      return [];
    }
  }

  /** Send a signal to every process in the cgroup (used for the graceful SIGTERM before the hard kill). */
  signal(sig: NodeJS.Signals): void {
    for (const pid of this.pids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  }

  /** SIGKILL everything: cgroup.kill (Linux 5.14+) reaches processes forked mid-kill too; else signal until empty. */
  kill(): void {
    try {
      fs.writeFileSync(path.join(this.dir, "cgroup.kill"), "1");
      return;
    } catch {
      // older kernel without cgroup.kill, or the directory is gone
    }
    this.signal("SIGKILL");
  }

  /** Kill, wait until empty (bounded), remove the directory. Returns an error message when it could not be removed. */
  async destroy(limitMs = 5000): Promise<string | undefined> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      this.kill();
      try {
        fs.rmdirSync(this.dir);
        return undefined;
      } catch (e) {
        if (e instanceof Error && "code" in e && e.code === "ENOENT") return undefined;
        // EBUSY while a killed process has not finished exiting.
        if (Date.now() >= deadline) return `could not remove ${this.dir}: ${e instanceof Error ? e.message : String(e)}`;
      }
      await sleep(20);
    }
  }
}

/** `<jobDir>/cgroup.json`: where a run's cgroup is, for a restarted platform to kill what a dead one left. */
export function recordCgroup(jobDir: string, cg: JobCgroup): void {
  fs.writeFileSync(path.join(jobDir, "cgroup.json"), JSON.stringify({ dir: cg.dir }), { mode: 0o600 });
}

/** The recorded cgroup of a job, when it still exists and is named for this job (a run's marker starts with its id). */
export function recordedCgroup(jobDir: string, jobId: string): JobCgroup | undefined {
  let dir: unknown;
  try {
    const v: unknown = JSON.parse(fs.readFileSync(path.join(jobDir, "cgroup.json"), "utf8"));
    dir = v && typeof v === "object" && "dir" in v ? v.dir : undefined;
  } catch {
    return undefined; // ran without a cgroup
  }
  if (typeof dir !== "string" || !path.isAbsolute(dir) || !path.basename(dir).startsWith(`${cgroupName(jobId)}.`)) return undefined;
  return JobCgroup.existing(dir);
}

/** A backend's job cgroups: the parent found once, a cgroup per run, the reason it runs without one said once. */
export class JobCgroups {
  readonly #setting: CgroupSetting;
  readonly #log: Logger;
  #parent: CgroupParent | undefined;
  #warned = false;

  constructor(setting: CgroupSetting, log: Logger) {
    this.#setting = setting;
    this.#log = log;
  }

  #resolve(): CgroupParent {
    this.#parent ??= cgroupParent(this.#setting);
    return this.#parent;
  }

  /** A fresh cgroup for one run (named by its marker: unique per run), recorded in the job's dir; or undefined. */
  forRun(jobDir: string, marker: string): JobCgroup | undefined {
    const parent = this.#resolve();
    if (!parent.ok) {
      this.warn(parent.why);
      return undefined;
    }
    try {
      const cg = JobCgroup.create(parent.dir, marker);
      // So a restarted platform can kill what this run leaves behind if this process dies (reclaim).
      recordCgroup(jobDir, cg);
      return cg;
    } catch (e) {
      this.warn(e instanceof Error ? e.message : String(e));
      return undefined;
    }
  }

  /** The cgroup a dead platform's run of this job left behind: killed, then removed. Only under today's parent. */
  reclaim(jobDir: string, jobId: string): void {
    const recorded = recordedCgroup(jobDir, jobId);
    if (!recorded) return;
    const parent = this.#resolve();
    if (!parent.ok || path.dirname(recorded.dir) !== parent.dir) return;
    recorded.kill();
    void recorded.destroy().then((why) => why && this.#log.warn("training: could not remove an orphaned job cgroup", { jobId, why }));
  }

  /** Said once: without the cgroup, cancel and timeout find escapees by the environment marker only. */
  warn(why: string): void {
    if (this.#warned) return;
    this.#warned = true;
    const msg = "training: jobs run without a cgroup; escaped processes are found by their environment marker";
    if (this.#setting.mode === "off") this.#log.info(msg, { why });
    else this.#log.warn(msg, { why });
  }
}
