// Child processes for local training: argv only (no shell), one process group each, so a kill reaches the whole tree.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { JobCgroup } from "./cgroup.ts";
import { markedProcesses, signalMarked } from "./marker.ts";

export interface RankProcess {
  readonly rank: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or 128+signal) once the process has exited; spawn errors resolve too. */
  readonly exited: Promise<{ code: number; signal: NodeJS.Signals | null; error?: string }>;
}

export interface SpawnRankOptions {
  readonly rank: number;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
  readonly logFile: string;
}

const SIGNAL_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGABRT: 6 };

export function spawnRank(o: SpawnRankOptions): RankProcess {
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true, mode: 0o700 });
  // Logs can hold whatever training code prints (tokens included): owner-only, as the rest of the data directory.
  const fd = fs.openSync(o.logFile, "a", 0o600);
  const [cmd, ...args] = o.argv;
  // detached = setsid(): the child leads a new process group, and -pid addresses everything it starts.
  const child = spawn(cmd ?? "", args, { cwd: o.cwd, env: o.env, stdio: ["ignore", fd, fd], detached: true, shell: false });
  fs.closeSync(fd);
  const exited = new Promise<{ code: number; signal: NodeJS.Signals | null; error?: string }>((resolve) => {
    child.once("error", (e: NodeJS.ErrnoException) => {
      const message = e.code === "ENOENT" ? `command not found: ${cmd ?? ""}` : `could not start ${cmd ?? ""}: ${e.code ?? e.message}`;
      fs.appendFileSync(o.logFile, `[flywheel] ${message}\n`);
      resolve({ code: 127, signal: null, error: message });
    });
    child.once("exit", (code, signal) => resolve({ code: code ?? 128 + (signal ? SIGNAL_CODES[signal] ?? 0 : 0), signal }));
  });
  return { rank: o.rank, child, exited };
}

/** Signal a whole process group; a group that is already gone is fine. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

export function groupAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM every group, every process in the job's cgroup and every process carrying the job's marker (the last two
 * find those that left their group with setsid), then SIGKILL whatever is still there after `graceMs`. Resolves when
 * all are gone.
 */
export async function killGroups(pids: readonly (number | undefined)[], graceMs: number, marker?: string, cgroup?: JobCgroup): Promise<void> {
  const anyAlive = (): boolean =>
    pids.some(groupAlive) || (marker !== undefined && markedProcesses(marker).length > 0) || (cgroup !== undefined && cgroup.pids().length > 0);
  for (const pid of pids) signalGroup(pid, "SIGTERM");
  if (marker) signalMarked(marker, "SIGTERM");
  cgroup?.signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (anyAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) if (groupAlive(pid)) signalGroup(pid, "SIGKILL");
  if (marker) signalMarked(marker, "SIGKILL");
  cgroup?.kill();
  const hard = Date.now() + 2000;
  while (anyAlive() && Date.now() < hard) {
    if (marker) signalMarked(marker, "SIGKILL"); // one forked while we waited
    cgroup?.kill();
    await new Promise((r) => setTimeout(r, 20));
  }
}

// A free TCP port on 127.0.0.1 (for MASTER_PORT).
export { freePort } from "../../server-process.ts";

/** First executable named `name` on PATH (or the path itself when it contains a slash). */
export function which(name: string, pathVar: string | undefined): string | undefined {
  const candidates = name.includes("/") ? [name] : (pathVar ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, name));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      if (fs.statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  return undefined;
}
