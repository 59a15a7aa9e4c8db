// The kubelet proper: each Pod bound to this node runs as local process groups (one per container, argv, no shell);
// output becomes the pod log, and the pod's status follows the processes (Pending -> Running -> Succeeded/Failed).
// A deleted pod's processes get SIGTERM, then SIGKILL after the grace period.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ContainerConfigError, prepareContainer, type PrepareOptions, type PreparedContainer } from "./container.ts";
import { arrAt, KINDS, KubeError, metaOf, nameOf, now, nsOf, objAt, str, uidOf, type Obj } from "./kube-http.ts";
import type { ClusterView, PodNetwork } from "./network.ts";

export interface RuntimeOptions extends PrepareOptions {
  readonly logs: { appendLog(ns: string, pod: string, text: string, container?: string): void };
  readonly network: PodNetwork;
  readonly view: ClusterView;
  readonly env: Readonly<Record<string, string>>;
  readonly killGraceMs: number | undefined;
  readonly onError: (message: string) => void;
}

interface Proc {
  readonly container: string;
  readonly child: ChildProcess;
  readonly startedAt: string;
  readonly done: Promise<{ exitCode: number; finishedAt: string; message?: string }>;
}

interface PodRun {
  readonly ns: string;
  readonly name: string;
  readonly uid: string;
  procs: Proc[];
  deleted: boolean;
  graceMs: number;
}

const TERMINAL = new Set(["Succeeded", "Failed"]);
const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export class PodRuntime {
  readonly #o: RuntimeOptions;
  readonly #runs = new Map<string, PodRun>();
  readonly #seen = new Set<string>();

  constructor(o: RuntimeOptions) {
    this.#o = o;
  }

  pods(): { namespace: string; name: string; pid: number }[] {
    return [...this.#runs.values()].flatMap((r) => r.procs.map((p) => ({ namespace: r.ns, name: r.name, pid: p.child.pid ?? 0 })));
  }

  /** A pod event from the informer. Idempotent: a pod (by uid) is started once. */
  async onPod(type: string, pod: Obj): Promise<void> {
    const uid = uidOf(pod);
    const run = this.#runs.get(uid);
    if (type === "DELETED" || metaOf(pod).deletionTimestamp) {
      if (run) this.#kill(run);
      return;
    }
    if (this.#seen.has(uid) || TERMINAL.has(str(objAt(pod, "status").phase))) return;
    this.#seen.add(uid);
    void this.#start(pod).catch((e: unknown) => this.#o.onError(`pod ${nameOf(pod)}: ${e instanceof Error ? e.message : String(e)}`));
  }

  async #status(pod: Obj, status: Obj): Promise<void> {
    try {
      await this.#o.http.patchStatus(KINDS.Pod, nsOf(pod), nameOf(pod), pod, status);
    } catch (e) {
      // A pod deleted meanwhile has no status to write.
      const run = this.#runs.get(uidOf(pod));
      if (run?.deleted) return;
      // Deleted before its DELETED event reached the informer: the API server says so first. Stop it as that event
      // would (the kubelet's status manager drops a NotFound pod too), instead of reporting a race as an error.
      if (e instanceof KubeError && e.code === 404) {
        if (run) this.#kill(run);
        return;
      }
      throw e;
    }
  }

  #exists(pod: Obj): boolean {
    return this.#o.view.pods(nsOf(pod)).some((p) => uidOf(p) === uidOf(pod));
  }

  async #start(pod: Obj): Promise<void> {
    const ns = nsOf(pod);
    const name = nameOf(pod);
    const containers = arrAt(pod, "spec", "containers");
    const grace = typeof objAt(pod, "spec").terminationGracePeriodSeconds === "number" ? Number(objAt(pod, "spec").terminationGracePeriodSeconds) * 1000 : 30_000;
    const run: PodRun = { ns, name, uid: uidOf(pod), procs: [], deleted: false, graceMs: Math.min(this.#o.killGraceMs ?? 5000, grace) };
    this.#runs.set(run.uid, run);
    const startTime = now();
    const waiting = (reason: string, message?: string): Obj[] =>
      containers.map((c) => ({ name: str(c.name), image: str(c.image), imageID: "", ready: false, restartCount: 0, started: false, state: { waiting: { reason, ...(message ? { message } : {}) } } }));
    const cond = (type: string, status: string, extra: Obj = {}): Obj => ({ type, status, lastProbeTime: null, lastTransitionTime: now(), ...extra });
    const base = { hostIP: "127.0.0.1", hostIPs: [{ ip: "127.0.0.1" }], podIP: "127.0.0.1", podIPs: [{ ip: "127.0.0.1" }], qosClass: "BestEffort", startTime };
    await this.#status(pod, { phase: "Pending", conditions: [cond("PodScheduled", "True")], ...base, containerStatuses: waiting("ContainerCreating") });

    const prepared: PreparedContainer[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        prepared.length = 0;
        for (const c of containers) prepared.push(await prepareContainer(this.#o, pod, c));
        break;
      } catch (e) {
        if (run.deleted || !this.#exists(pod)) return;
        if (!(e instanceof ContainerConfigError)) {
          // An API call failed (not the pod's fault): report it and try again, as the kubelet's sync loop does.
          this.#o.onError(`pod ${name}: ${e instanceof Error ? e.message : String(e)}`);
          await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)).unref());
          continue;
        }
        // The kubelet keeps retrying (a missing Secret may appear); the status says why it waits.
        if (e.reason === "Unschedulable") {
          await this.#status(pod, { phase: "Pending", conditions: [cond("PodScheduled", "False", { reason: "Unschedulable", message: e.message })], containerStatuses: null, startTime: null });
        } else {
          await this.#status(pod, { phase: "Pending", conditions: [cond("PodScheduled", "True"), cond("Ready", "False", { reason: "ContainersNotReady" })], ...base, containerStatuses: waiting(e.reason, e.message) });
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)).unref());
      }
    }
    if (run.deleted) return;
    for (const c of prepared) run.procs.push(await this.#spawn(pod, c));
    const running = run.procs.map((p, i) => ({
      name: p.container, image: str(containers[i]?.image), imageID: "", containerID: `process://${p.child.pid ?? 0}`,
      ready: true, restartCount: 0, started: true, state: { running: { startedAt: p.startedAt } },
    }));
    const ready = [cond("PodReadyToStartContainers", "True"), cond("Initialized", "True"), cond("Ready", "True"), cond("ContainersReady", "True"), cond("PodScheduled", "True")];
    await this.#status(pod, { phase: "Running", conditions: ready, ...base, containerStatuses: running });

    const results = await Promise.all(run.procs.map((p) => p.done));
    this.#runs.delete(run.uid);
    this.#o.network.release(ns, name);
    if (run.deleted) return;
    const failed = results.some((r) => r.exitCode !== 0);
    const terminated = run.procs.map((p, i) => {
      const r = results[i] ?? { exitCode: 0, finishedAt: now() };
      return {
        name: p.container, image: str(containers[i]?.image), imageID: "", containerID: `process://${p.child.pid ?? 0}`, ready: false, restartCount: 0, started: false,
        state: { terminated: { exitCode: r.exitCode, reason: r.exitCode === 0 ? "Completed" : r.message ? "StartError" : "Error", ...(r.message ? { message: r.message } : {}), startedAt: p.startedAt, finishedAt: r.finishedAt, containerID: `process://${p.child.pid ?? 0}` } },
      };
    });
    const done = [cond("PodReadyToStartContainers", "False"), cond("Initialized", "True"), cond("Ready", "False", { reason: "PodCompleted" }), cond("ContainersReady", "False", { reason: "PodCompleted" }), cond("PodScheduled", "True")];
    await this.#status(pod, { phase: failed ? "Failed" : "Succeeded", conditions: done, ...base, containerStatuses: terminated });
  }

  async #spawn(pod: Obj, c: PreparedContainer): Promise<Proc> {
    const ns = nsOf(pod);
    const pname = nameOf(pod);
    const home = path.join(this.#o.workDir, "pods", ns, pname, "home");
    fs.mkdirSync(home, { recursive: true });
    const env = await this.#o.network.translate(this.#o.view, pod, c.env);
    const [file = "", ...args] = c.argv;
    const startedAt = now();
    const child = spawn(file, args, {
      cwd: c.cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, HOSTNAME: pname, ...this.#o.env, ...env },
      // Its own process group, so a deleted pod's whole tree is signalled.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log = (d: string): void => this.#o.logs.appendLog(ns, pname, d, c.name);
    child.stdout?.setEncoding("utf8").on("data", log);
    child.stderr?.setEncoding("utf8").on("data", log);
    const done = new Promise<{ exitCode: number; finishedAt: string; message?: string }>((resolve) => {
      child.once("error", (e) => {
        // What containerd reports when the entrypoint cannot be executed.
        log(`exec ${file}: ${e.message}\n`);
        resolve({ exitCode: 128, finishedAt: now(), message: `failed to create containerd task: exec: "${file}": ${e.message}` });
      });
      // close (not exit): every line of output has been handed to the log first.
      child.once("close", (code, signal) => resolve({ exitCode: code ?? 128 + (signal ? (SIGNALS[signal] ?? 15) : 0), finishedAt: now() }));
    });
    return { container: c.name, child, startedAt, done };
  }

  #kill(run: PodRun): void {
    if (run.deleted) return;
    run.deleted = true;
    for (const p of run.procs) {
      const pid = p.child.pid;
      if (!pid || p.child.exitCode !== null || p.child.signalCode !== null) continue;
      signal(pid, "SIGTERM");
      const t = setTimeout(() => signal(pid, "SIGKILL"), run.graceMs);
      t.unref();
      void p.done.then(() => {
        clearTimeout(t);
        // Children that outlived the leader still belong to the pod.
        signal(pid, "SIGKILL");
      });
    }
  }

  /** Kill every process group (close). */
  async stop(): Promise<void> {
    const runs = [...this.#runs.values()];
    for (const r of runs) this.#kill(r);
    await Promise.all(runs.flatMap((r) => r.procs.map((p) => p.done)));
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}
