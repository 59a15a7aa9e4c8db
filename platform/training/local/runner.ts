// Runs one local job's ranks to an outcome: first failing rank stops the rest; timeout and cancel kill every group.
import fs from "node:fs";
import { tailFile } from "../logs.ts";
import type { JobCgroup } from "./cgroup.ts";
import { signalMarked } from "./marker.ts";
import { killGroups, signalGroup, spawnRank, type RankProcess } from "./procs.ts";

export interface RankCommand {
  readonly rank: number;
  readonly argv: readonly string[];
  readonly env: Record<string, string | undefined>;
  readonly logFile: string;
}

export type RunOutcome =
  | { readonly state: "succeeded" }
  | { readonly state: "cancelled"; readonly by: string }
  | {
      readonly state: "failed";
      readonly reason: string;
      readonly message: string;
      readonly exitCode?: number | undefined;
      readonly rank?: number | undefined;
      readonly logTail: string;
    };

export interface RunOptions {
  readonly ranks: readonly RankCommand[];
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly killGraceMs: number;
  /** Runs before the ranks (e.g. git clone); a non-zero exit fails the job with reason SourceFetchFailed. */
  readonly prepare?: { readonly argv: readonly string[]; readonly env: Record<string, string | undefined> } | undefined;
  /** Called once the prepare step (the source fetch) succeeded, before any rank starts. */
  readonly onPrepared?: (() => void) | undefined;
  /** FLYWHEEL_JOB_MARKER value in every process's environment: how cancel and timeout find setsid escapees. */
  readonly marker?: string | undefined;
  /** The job's own cgroup: every process is moved in right after spawn, and the whole cgroup is killed at the end. */
  readonly cgroup?: JobCgroup | undefined;
  /** A cgroup step failed (the marker still covers the job); told once per run. */
  readonly onCgroupError?: ((message: string) => void) | undefined;
}

export interface RunHandle {
  readonly done: Promise<RunOutcome>;
  /** Process group ids of the ranks (each rank leads its own group). */
  pids(): number[];
  cancel(by: string): void;
  /** Stop for a platform shutdown: kill everything, outcome failed with the given reason. */
  abort(reason: string, message: string): void;
}

export function startRun(o: RunOptions): RunHandle {
  let procs: RankProcess[] = [];
  let outcome: RunOutcome | undefined;
  let stopping: Promise<void> | undefined;
  const pids = (): number[] => procs.map((p) => p.child.pid).filter((p): p is number => typeof p === "number");
  const stopAll = (): void => {
    stopping ??= killGroups(pids(), o.killGraceMs, o.marker, o.cgroup);
  };
  let cgroupFailed = false;
  const cgroupError = (message: string | undefined): void => {
    if (!message || cgroupFailed) return;
    cgroupFailed = true;
    o.onCgroupError?.(message);
  };
  // Moved in right after spawn: a fork in the instant before this write escapes the cgroup (the marker still finds it).
  const contain = (p: RankProcess): RankProcess => {
    if (o.cgroup) cgroupError(o.cgroup.add(p.child.pid));
    return p;
  };
  const settle = (out: RunOutcome): void => {
    if (outcome) return;
    outcome = out;
    stopAll();
  };

  const run = async (): Promise<RunOutcome> => {
    const rank0Log = o.ranks[0]?.logFile ?? "";
    if (o.prepare) {
      const prep = contain(spawnRank({ rank: 0, argv: o.prepare.argv, cwd: process.cwd(), env: o.prepare.env, logFile: rank0Log }));
      procs = [prep];
      const res = await prep.exited;
      procs = [];
      if (outcome) return await finish(outcome);
      if (res.code !== 0) {
        return await finish({ state: "failed", reason: "SourceFetchFailed", message: `fetching the source failed with exit code ${res.code}`, exitCode: res.code, rank: 0, logTail: tailFile(rank0Log) });
      }
      o.onPrepared?.();
    }
    fs.mkdirSync(o.cwd, { recursive: true });
    procs = o.ranks.map((r) => contain(spawnRank({ rank: r.rank, argv: r.argv, cwd: o.cwd, env: r.env, logFile: r.logFile })));
    const timer = setTimeout(() => {
      settle({
        state: "failed",
        reason: "Timeout",
        message: `the job ran longer than its timeout of ${Math.round(o.timeoutMs / 1000)} s and was killed`,
        logTail: tailFile(rank0Log),
      });
    }, o.timeoutMs);
    timer.unref();
    await Promise.all(
      procs.map(async (p) => {
        const res = await p.exited;
        if (res.code === 0 || outcome) return;
        const logFile = o.ranks.find((r) => r.rank === p.rank)?.logFile ?? rank0Log;
        const reason = res.error ? "SpawnFailed" : res.signal ? "Signal" : "NonZeroExit";
        const message = res.error ?? (res.signal ? `rank ${p.rank} was killed by ${res.signal}` : `rank ${p.rank} exited with code ${res.code}`);
        settle({ state: "failed", reason, message, exitCode: res.code, rank: p.rank, logTail: tailFile(logFile) });
      }),
    );
    clearTimeout(timer);
    // Leaders have exited; anything they left behind in their groups goes too (no orphans on success either).
    for (const pid of pids()) signalGroup(pid, "SIGKILL");
    if (o.marker) signalMarked(o.marker, "SIGKILL");
    return await finish(outcome ?? { state: "succeeded" });
  };
  /** Whatever the outcome, nothing of the job outlives it, and its cgroup directory goes. */
  const finish = async (out: RunOutcome): Promise<RunOutcome> => {
    await stopping;
    if (o.cgroup) cgroupError(await o.cgroup.destroy());
    return out;
  };

  return {
    // Even when the run throws (e.g. the working directory cannot be made), the job's cgroup is emptied and removed.
    done: run().catch(async (e: unknown) => {
      await finish({ state: "succeeded" });
      throw e;
    }),
    pids,
    cancel: (by) => settle({ state: "cancelled", by }),
    abort: (reason, message) => settle({ state: "failed", reason, message, logTail: "" }),
  };
}
