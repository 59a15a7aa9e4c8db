// Finds a job's processes by the marker every one of them inherits in its environment, so cancel and timeout reach a
// process that left the job's process group with setsid (issue 17). Linux /proc; elsewhere nothing is found.
import { randomBytes } from "node:crypto";
import fs from "node:fs";

export const JOB_MARKER_ENV = "FLYWHEEL_JOB_MARKER";

/** A fresh marker for one run of a job: the job id plus a nonce, so a re-run never matches an old run's leftovers. */
export const newJobMarker = (jobId: string): string => `${jobId}.${randomBytes(8).toString("hex")}`;

/** Pids (other than this process) whose environment carries `FLYWHEEL_JOB_MARKER=<marker>`. */
export function markedProcesses(marker: string): number[] {
  const needle = Buffer.from(`\0${JOB_MARKER_ENV}=${marker}\0`);
  const first = Buffer.from(`${JOB_MARKER_ENV}=${marker}\0`);
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`);
      if (env.includes(needle) || env.subarray(0, first.length).equals(first)) found.push(pid);
    } catch {
      // gone, or not ours to read (another user's process cannot carry our marker anyway)
    }
  }
  return found;
}

/** Signal every marked process; ones that exit meanwhile are fine. Returns how many were signalled. */
export function signalMarked(marker: string, signal: NodeJS.Signals): number {
  let n = 0;
  for (const pid of markedProcesses(marker)) {
    try {
      process.kill(pid, signal);
      n++;
    } catch {
      // ESRCH: already gone
    }
  }
  return n;
}
