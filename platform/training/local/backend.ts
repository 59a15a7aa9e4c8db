// LocalTrainingBackend: training as child processes on this machine (single, ddp, spark-submit local), state in SQLite.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Config } from "../../config/index.ts";
import { NotFoundError } from "../../errors.ts";
import { createLogger, type Logger } from "../../log.ts";
import { isTerminal, type JobFilter, type JobRecord, type LaunchRequest, type LogOptions, type TrainingBackend } from "../../ports.ts";
import { followFile, logRank } from "../logs.ts";
import { JobStore, type JobPatch } from "../store.ts";
import type { JobListener } from "../updates.ts";
import { LaunchError, resolveCommand } from "./command.ts";
import { ddpEnv, jobEnv, placements, type JobCredentials, type RegistryEnv } from "./env.ts";
import { freePort, groupAlive, signalGroup } from "./procs.ts";
import { startRun, type RankCommand, type RunHandle, type RunOutcome } from "./runner.ts";
import { Notifier } from "./notifier.ts";
import { JOB_MARKER_ENV, newJobMarker } from "./marker.ts";
import { JobCgroups, type CgroupSetting } from "./cgroup.ts";

export interface LocalTrainingBackendOptions {
  /** Jobs live under `<dataDir>/jobs/<id>/` (rank-<n>.log, artifacts/) and in `<dataDir>/training.db`. */
  readonly dataDir: string;
  /** Working directory for commands (relative paths in specs resolve here). Default: the process's cwd. */
  readonly workdir?: string;
  readonly registry?: RegistryEnv;
  /** When set, each job gets its own token from here as MLFLOW_TRACKING_TOKEN (instead of registry.token). */
  readonly jobTokens?: JobCredentials | undefined;
  readonly onUpdate?: JobListener;
  readonly log?: Logger;
  /** Base environment for child processes (PATH, HOME, ...). Default: this process's environment. */
  readonly env?: Record<string, string | undefined>;
  /** Interpreter for `.py` entry files. Default: Debian's /usr/bin/python3 when present, else python3. */
  readonly python?: string;
  /** Time between SIGTERM and SIGKILL on cancel/timeout/failure. Default 5 s. */
  readonly killGraceMs?: number;
  /** Each job in a cgroup v2 of its own, so cancel/timeout reach every descendant (config FLYWHEEL_TRAINING_CGROUP). Default auto. */
  readonly cgroup?: CgroupSetting;
  readonly now?: () => number;
}

export class LocalTrainingBackend implements TrainingBackend {
  readonly name = "local" as const;
  readonly #o: LocalTrainingBackendOptions;
  readonly #store: JobStore;
  readonly #runs = new Map<string, RunHandle>();
  readonly #notifier: Notifier;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #cgroups: JobCgroups;

  /**
   * An external MLflow (MLFLOW_TRACKING_URI): jobs get its configured credentials. The embedded registry at registryUrl:
   * jobs get a token of their own from jobTokens, never the admin token.
   */
  static fromConfig(config: Config, opts: Omit<LocalTrainingBackendOptions, "dataDir" | "registry"> & { registryUrl?: string | undefined } = {}): LocalTrainingBackend {
    return new LocalTrainingBackend({ cgroup: config.training.cgroup, ...opts, dataDir: config.dataDir, registry: registryEnvFor(config, opts.registryUrl) });
  }

  constructor(o: LocalTrainingBackendOptions) {
    this.#o = o;
    this.#log = o.log ?? createLogger("silent");
    this.#now = o.now ?? Date.now;
    this.#cgroups = new JobCgroups(o.cgroup ?? { mode: "auto" }, this.#log);
    this.#store = new JobStore(path.join(o.dataDir, "training.db"));
    this.#notifier = new Notifier(this.#store, this.#log, o.onUpdate);
    this.#reconcileOrphans();
    this.#notifier.flush();
  }

  /** Set (or replace) the status listener; transitions stored while none was set are delivered now. */
  setListener(listener: JobListener): void {
    this.#notifier.setListener(listener);
  }

  jobDir(id: string): string {
    return path.join(this.#o.dataDir, "jobs", id);
  }

  async launch(req: LaunchRequest): Promise<{ job: JobRecord; created: boolean }> {
    const existing = this.#store.get(req.jobId);
    if (existing) return { job: existing, created: false };
    const { spec } = req;
    const dir = this.jobDir(req.jobId);
    const artifactDir = path.join(dir, "artifacts");
    fs.mkdirSync(artifactDir, { recursive: true });
    const ranks = spec.kind === "ddp" ? spec.replicas * spec.procsPerReplica : 1;
    const inserted = this.#store.insert(
      { id: req.jobId, model: spec.model, kind: spec.kind, backend: "local", state: "pending", spec, trigger: req.trigger, createdAt: this.#now(), ranks, artifactUri: pathToFileURL(artifactDir).href },
      { traceparent: req.traceparent, causeEventId: req.causeEventId },
    );
    if (!inserted) return { job: this.#mustGet(req.jobId), created: false };
    this.#notifier.flush();
    const logFile = (rank: number): string => path.join(dir, `rank-${rank}.log`);
    const baseEnv = this.#o.env ?? process.env;
    const marker = newJobMarker(req.jobId);
    let commands: RankCommand[];
    let resolved: ReturnType<typeof resolveCommand>;
    try {
      resolved = resolveCommand(spec, {
        workdir: this.#o.workdir ?? process.cwd(),
        jobDir: dir,
        python: this.#o.python ?? (fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"),
        pathVar: baseEnv.PATH,
        sparkHome: baseEnv.SPARK_HOME,
      });
      const common = { ...baseEnv, ...jobEnv(req.jobId, spec, artifactDir, this.#registryEnv(req.jobId, spec.timeoutSeconds)), [JOB_MARKER_ENV]: marker };
      const port = spec.kind === "ddp" ? await freePort() : 0;
      commands =
        spec.kind === "ddp"
          ? placements(spec.replicas, spec.procsPerReplica).map((p) => ({ rank: p.rank, argv: resolved.argv, env: { ...common, ...ddpEnv(p, req.jobId, port) }, logFile: logFile(p.rank) }))
          : [{ rank: 0, argv: resolved.argv, env: { ...common, RANK: "0", LOCAL_RANK: "0", WORLD_SIZE: "1" }, logFile: logFile(0) }];
    } catch (e) {
      const reason = e instanceof LaunchError ? e.reason : "LaunchFailed";
      const message = e instanceof Error ? e.message : String(e);
      fs.appendFileSync(logFile(0), `[flywheel] launch failed: ${message}\n`, { mode: 0o600 });
      this.#finish(req.jobId, { state: "failed", reason, message, logTail: `[flywheel] launch failed: ${message}` });
      return { job: this.#mustGet(req.jobId), created: true };
    }
    // A cancel may have landed while the port was being found: never start a job that already ended.
    const now = this.#store.get(req.jobId);
    if (!now || isTerminal(now.state)) {
      this.#o.jobTokens?.revoke(req.jobId);
      return { job: this.#mustGet(req.jobId), created: true };
    }
    const cgroup = this.#cgroups.forRun(dir, marker);
    const run = startRun({
      ranks: commands,
      cgroup,
      onCgroupError: (message) => this.#cgroups.warn(`job ${req.jobId}: ${message}`),
      cwd: resolved.cwd,
      timeoutMs: spec.timeoutSeconds * 1000,
      killGraceMs: this.#o.killGraceMs ?? 5000,
      marker,
      prepare: resolved.clone
        ? { argv: ["git", "clone", "--depth", "1", "--branch", resolved.clone.ref, "--", resolved.clone.url, resolved.cwd], env: { ...baseEnv, GIT_TERMINAL_PROMPT: "0", [JOB_MARKER_ENV]: marker } }
        : undefined,
      // The code version is the commit the clone checked out (a branch name moves): log-model records it as lineage.
      onPrepared: resolved.clone ? () => this.#recordSource(artifactDir, resolved.cwd, resolved.clone) : undefined,
    });
    this.#runs.set(req.jobId, run);
    fs.writeFileSync(path.join(dir, "pids.json"), JSON.stringify(run.pids()));
    const startedAt = this.#now();
    this.#transition(req.jobId, { state: "running", at: startedAt }, { startedAt });
    void run.done.then(
      (outcome) => this.#finish(req.jobId, outcome),
      (e: unknown) => this.#finish(req.jobId, { state: "failed", reason: "LaunchFailed", message: e instanceof Error ? e.message : String(e), logTail: "" }),
    );
    return { job: this.#mustGet(req.jobId), created: true };
  }

  /** source.json in the artifact dir (docs/artifacts.md): the git URL, the ref asked for and the commit checked out. */
  #recordSource(artifactDir: string, cwd: string, clone: { readonly url: string; readonly ref: string } | undefined): void {
    if (!clone) return;
    try {
      const commit = execFileSync("git", ["-C", cwd, "rev-parse", "HEAD"], { encoding: "utf8", timeout: 10_000 }).trim();
      fs.writeFileSync(path.join(artifactDir, "source.json"), JSON.stringify({ git: clone.url, ref: clone.ref, commit }));
    } catch (e) {
      this.#log.warn("training: could not read the cloned commit", { cwd, error: e instanceof Error ? e.message : String(e) });
    }
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    return this.#store.get(jobId);
  }

  async list(filter?: JobFilter): Promise<JobRecord[]> {
    return this.#store.list(filter);
  }

  logs(jobId: string, opts: LogOptions = {}): AsyncIterable<string> {
    const job = this.#mustGet(jobId);
    const rank = logRank(job, opts.rank);
    const file = path.join(this.jobDir(jobId), `rank-${rank}.log`);
    const isDone = (): boolean => {
      const j = this.#store.get(jobId);
      return !j || isTerminal(j.state);
    };
    return followFile(file, { follow: opts.follow ?? false, isDone, signal: opts.signal, tail: opts.tail, offset: opts.offset, limit: opts.limit });
  }

  async cancel(jobId: string): Promise<JobRecord> {
    const job = this.#mustGet(jobId);
    if (isTerminal(job.state)) return job;
    const run = this.#runs.get(jobId);
    if (run) {
      run.cancel("user");
      await run.done;
      // The run's own completion handler records the outcome; wait for it to land.
      await this.#idle(jobId);
    } else {
      this.#finish(jobId, { state: "cancelled", by: "user" });
    }
    return this.#mustGet(jobId);
  }

  /** Kill every running job (recorded as failed, reason PlatformShutdown) and close the database. */
  async close(): Promise<void> {
    const running = [...this.#runs.entries()];
    for (const [, run] of running) run.abort("PlatformShutdown", "the platform shut down while the job was running");
    await Promise.all(running.map(([id, run]) => run.done.then(() => this.#idle(id))));
    await this.#notifier.drain();
    this.#store.close();
  }

  async #idle(jobId: string): Promise<void> {
    while (this.#runs.has(jobId)) await new Promise((r) => setTimeout(r, 10));
  }

  #mustGet(jobId: string): JobRecord {
    const job = this.#store.get(jobId);
    if (!job) throw new NotFoundError(`job ${jobId} not found`);
    return job;
  }

  #transition(jobId: string, t: { state: JobRecord["state"]; at: number; reason?: string; message?: string }, patch: JobPatch = {}, logTail?: string): void {
    if (this.#store.transition(jobId, t, patch, logTail)) this.#notifier.flush();
  }

  /** The registry variables of one job: its own token when the backend issues them (max lifetime: timeout + kill grace). */
  #registryEnv(jobId: string, timeoutSeconds: number): RegistryEnv {
    const base = this.#o.registry ?? { trackingUri: undefined, token: undefined };
    const issuer = this.#o.jobTokens;
    if (!issuer) return base;
    const lifetimeMs = timeoutSeconds * 1000 + (this.#o.killGraceMs ?? 5000) + JOB_TOKEN_SLACK_MS;
    return { ...base, token: issuer.issue(jobId, lifetimeMs) };
  }

  #finish(jobId: string, outcome: RunOutcome): void {
    // The job's processes are gone: its registry token stops working now, not at its max lifetime.
    this.#o.jobTokens?.revoke(jobId);
    this.#runs.delete(jobId);
    const at = this.#now();
    if (outcome.state === "succeeded") this.#transition(jobId, { state: "succeeded", at }, { finishedAt: at, exitCode: 0 });
    else if (outcome.state === "cancelled") this.#transition(jobId, { state: "cancelled", at, reason: "Cancelled", message: outcome.by }, { finishedAt: at });
    else {
      this.#transition(
        jobId,
        { state: "failed", at, reason: outcome.reason, message: outcome.message },
        { finishedAt: at, exitCode: outcome.exitCode, failedRank: outcome.rank, failureReason: outcome.reason, message: outcome.message },
        outcome.logTail,
      );
    }
  }

  /** Jobs left pending/running by a process that is gone cannot be re-attached: stop leftovers, mark them Orphaned. */
  #reconcileOrphans(): void {
    for (const job of this.#store.active()) {
      for (const pid of readPids(path.join(this.jobDir(job.id), "pids.json"))) {
        // Only a group whose leader still carries this job's id is ours; a reused pid belongs to someone else.
        if (groupAlive(pid) && ownsJob(pid, job.id)) signalGroup(pid, "SIGKILL");
      }
      this.#cgroups.reclaim(this.jobDir(job.id), job.id);
      const at = this.#now();
      const message = "the platform restarted while the job was running; its processes could not be re-attached";
      this.#store.transition(job.id, { state: "failed", at, reason: "Orphaned", message }, { finishedAt: at, failureReason: "Orphaned", message });
    }
  }
}

/** A clone before the timeout starts, and the last requests of a stopping process, fit in this margin. */
const JOB_TOKEN_SLACK_MS = 60_000;

function registryEnvFor(config: Config, registryUrl: string | undefined): RegistryEnv {
  const r = config.registry;
  if (r.trackingUri) return { trackingUri: r.trackingUri, token: r.token, username: r.username, password: r.password, caBundlePath: r.caBundlePath };
  return { trackingUri: registryUrl, token: undefined };
}

function readPids(file: string): number[] {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    return Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x) && x > 1) : [];
  } catch {
    return [];
  }
}

function ownsJob(pid: number, jobId: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`FLYWHEEL_JOB_ID=${jobId}`);
  } catch {
    return false;
  }
}
