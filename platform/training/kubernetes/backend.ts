// KubernetesTrainingBackend: Job / PyTorchJob / TrainJob / SparkApplication, status via watch or ApiServerSource.
import os from "node:os";
import path from "node:path";
import type { Config } from "../../config/index.ts";
import { NotFoundError, ValidationError } from "../../errors.ts";
import { createLogger, errorFields, type Logger } from "../../log.ts";
import { isTerminal, type JobFilter, type JobRecord, type LaunchRequest, type LogOptions, type TrainingBackend } from "../../ports.ts";
import { Notifier } from "../local/notifier.ts";
import { JobStore } from "../store.ts";
import type { JobListener, JobUpdate } from "../updates.ts";
import { TrainingKubeClient } from "./kube-client.ts";
import type { KubeRest } from "../../serving/kube-rest.ts";
import type { KubeConfigSource } from "./load.ts";
import { apiStatus, toPlatformError } from "./errors.ts";
import { logRank } from "../logs.ts";
import { LABELS, MANAGED_BY, ranksFor, isTrainingObjectKind, type KubeObject, type TrainingObjectKind } from "./meta.ts";
import { podForRank, podSelector, TRAINER_CONTAINER } from "./pods.ts";
import { artifactUriFor, kindFor, RenderError, renderTrainingObject, type RenderOptions } from "./render.ts";
import type { StatusVerdict } from "./status.ts";
import { statusUpdateFor } from "./observe.ts";

export interface KubernetesTrainingBackendOptions extends Partial<Omit<RenderOptions, "namespace" | "ddpOperator">> {
  readonly kubeconfig: KubeConfigSource;
  /** Lists and watches without client-node where the credentials allow (serving/kube-rest.ts). */
  readonly rest?: () => Promise<KubeRest | undefined>;
  readonly namespace: string;
  readonly ddpOperator: "pytorchjob" | "trainjob";
  /** Job records and history live in `<dataDir>/training.db` (a temp dir when not given). */
  readonly dataDir?: string;
  readonly onUpdate?: JobListener;
  readonly log?: Logger;
  /** Watch objects and pods for status (embedded). Off for Knative, where ApiServerSource events come in instead. */
  readonly watch?: boolean;
  /** With `watch`: also enforce SparkApplication deadlines (deletes objects). Off for a reader such as the Knative UI. */
  readonly enforceDeadlines?: boolean;
  readonly now?: () => number;
}

/** How long a read waits for the first lists after start (an unreachable API must not hang the jobs pages). */
const SYNC_WAIT_MS = 5000;

export class KubernetesTrainingBackend implements TrainingBackend {
  readonly name = "kubernetes" as const;
  readonly client: TrainingKubeClient;
  readonly #o: KubernetesTrainingBackendOptions;
  readonly #render: RenderOptions;
  readonly #store: JobStore;
  readonly #notifier: Notifier;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #stops: (() => void)[] = [];
  /** Settles when the watches' first lists are in the store (or SYNC_WAIT_MS passed); undefined without a watch. */
  #synced: Promise<void> | undefined;

  static fromConfig(
    config: Config,
    opts: { env: Record<string, string | undefined>; log?: Logger; onUpdate?: JobListener; watch?: boolean; enforceDeadlines?: boolean } & Partial<RenderOptions>,
  ): KubernetesTrainingBackend {
    return new KubernetesTrainingBackend({
      ...opts,
      // Loaded (with client-node) on the first call to the cluster, not at start-up.
      kubeconfig: async () => (await import("./client.ts")).loadKubeConfig(opts.env),
      rest: async () => (await import("../../serving/kube-rest.ts")).kubeRest({ env: opts.env }),
      namespace: config.kubernetes.namespace,
      ddpOperator: config.training.ddpOperator,
      trackingUri: opts.trackingUri ?? config.registry.trackingUri,
      dataDir: config.dataDir,
    });
  }

  constructor(o: KubernetesTrainingBackendOptions) {
    this.#o = o;
    this.#log = o.log ?? createLogger("silent");
    this.#now = o.now ?? Date.now;
    this.client = new TrainingKubeClient(o.kubeconfig, o.namespace, o.rest);
    this.#render = {
      namespace: o.namespace,
      ddpOperator: o.ddpOperator,
      artifactPvc: o.artifactPvc ?? "flywheel-artifacts",
      trackingUri: o.trackingUri,
      registryTokenSecret: o.registryTokenSecret,
      sparkVersion: o.sparkVersion ?? "3.5.3",
      sparkServiceAccount: o.sparkServiceAccount ?? "spark-operator-spark",
      sparkArchive: o.sparkArchive ?? "local:///app/env.tar.gz",
      ttlSecondsAfterFinished: o.ttlSecondsAfterFinished ?? 86_400,
    };
    this.#store = new JobStore(path.join(o.dataDir ?? os.tmpdir(), o.dataDir ? "training.db" : `flywheel-k8s-${process.pid}.db`));
    this.#notifier = new Notifier(this.#store, this.#log, o.onUpdate);
    this.#notifier.flush();
    if (o.watch ?? true) this.startWatching();
  }

  /**
   * SparkApplication has no deadline field, so the embedded watcher enforces timeoutSeconds itself: the object is
   * deleted and the job fails with reason Timeout. (Job, PyTorchJob and TrainJob carry activeDeadlineSeconds.)
   */
  async enforceDeadlines(): Promise<void> {
    const now = this.#now();
    for (const job of this.#store.active()) {
      if (job.object?.kind !== "SparkApplication") continue;
      if (now - (job.startedAt ?? job.createdAt) <= job.spec.timeoutSeconds * 1000) continue;
      await this.client.delete("SparkApplication", job.object.name);
      const message = `the job ran longer than its timeout of ${job.spec.timeoutSeconds} s and was deleted`;
      if (this.#store.transition(job.id, { state: "failed", at: now, reason: "Timeout", message }, { finishedAt: now, failureReason: "Timeout", message })) this.#notifier.flush();
    }
  }

  setListener(l: JobListener): void {
    this.#notifier.setListener(l);
  }

  /** The kinds this configuration creates. */
  kinds(): TrainingObjectKind[] {
    return ["Job", this.#o.ddpOperator === "trainjob" ? "TrainJob" : "PyTorchJob", "SparkApplication"];
  }

  startWatching(): void {
    if (this.#stops.length) return;
    // A replica that just started (a cold start after scale to zero) has an empty store until the first lists are in:
    // reads wait for them, for at most SYNC_WAIT_MS, so the jobs pages never say "no jobs" while the cluster has some.
    const pending: Promise<void>[] = [];
    const synced = (): (() => void) => {
      let done!: () => void;
      pending.push(new Promise<void>((r) => (done = r)));
      return done;
    };
    for (const kind of this.kinds()) {
      this.#stops.push(this.client.watch(kind, `${LABELS.managedBy}=${MANAGED_BY}`, (o) => this.observe(o).catch((e: unknown) => this.#log.warn("status update failed", errorFields(e))), this.#log, synced()));
    }
    if (this.#o.enforceDeadlines ?? true) {
      const sweep = setInterval(() => void this.enforceDeadlines().catch((e: unknown) => this.#log.warn("deadline sweep failed", errorFields(e))), 5000);
      sweep.unref();
      this.#stops.push(() => clearInterval(sweep));
    }
    this.#stops.push(this.client.watch("Pod", LABELS.jobId, (o) => this.observe(o).catch((e: unknown) => this.#log.warn("pod status failed", errorFields(e))), this.#log, synced()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => (timer = setTimeout(r, SYNC_WAIT_MS)));
    timer?.unref();
    this.#synced = Promise.race([Promise.all(pending).then(() => undefined), bound]).finally(() => clearTimeout(timer));
  }

  async launch(req: LaunchRequest): Promise<{ job: JobRecord; created: boolean }> {
    const known = this.#store.get(req.jobId);
    if (known) return { job: known, created: false };
    const kind = kindFor(req.spec, this.#render);
    const base = {
      id: req.jobId, model: req.spec.model, kind: req.spec.kind, backend: "kubernetes" as const, spec: req.spec, trigger: req.trigger,
      ranks: ranksFor(req.spec), artifactUri: artifactUriFor(this.#render, req.jobId),
      object: { apiVersion: "", kind, name: req.jobId, namespace: this.#o.namespace },
    };
    const insert = (state: JobRecord["state"], createdAt: number): boolean =>
      this.#store.insert({ ...base, object: { ...base.object, apiVersion: apiVersionOf(kind) }, state, createdAt }, { traceparent: req.traceparent, causeEventId: req.causeEventId });
    let manifest: Record<string, unknown>;
    try {
      manifest = renderTrainingObject(req, this.#render);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      insert("pending", this.#now());
      this.#fail(req.jobId, "InvalidSpec", e.message);
      return { job: this.#mustGet(req.jobId), created: true };
    }
    try {
      await this.client.createRaw(kind, manifest);
    } catch (e) {
      const s = apiStatus(e);
      if (s?.code === 409) {
        // Already launched (an earlier delivery, maybe by another instance): adopt the existing object.
        const existing = await this.client.read(kind, req.jobId);
        if (insert("pending", this.#now()) && existing) await this.observe(existing);
        return { job: this.#mustGet(req.jobId), created: false };
      }
      if (s && [400, 403, 404, 422].includes(s.code)) {
        insert("pending", this.#now());
        const reason = s.code === 404 ? "OperatorNotInstalled" : s.code === 403 ? "Forbidden" : "SubmissionFailed";
        this.#fail(req.jobId, reason, `${kind} was refused by the API server: ${s.message}`);
        return { job: this.#mustGet(req.jobId), created: true };
      }
      throw toPlatformError(e, `create ${kind} ${req.jobId}`);
    }
    insert("pending", this.#now());
    this.#notifier.flush();
    return { job: this.#mustGet(req.jobId), created: true };
  }

  /** What an object's status means for its job (stateless; shared with the ApiServerSource trigger). */
  updateFor(o: KubeObject): Promise<JobUpdate | undefined> {
    return statusUpdateFor(o, { client: this.client, kinds: this.kinds(), knownKind: (id) => this.#store.get(id)?.object?.kind, now: this.#now, log: this.#log });
  }

  /** Apply an observed object (watch event) to the stored job, and notify the listener of a state change. */
  async observe(o: KubeObject): Promise<void> {
    const update = await this.updateFor(o);
    if (!update) return;
    const { job, transition } = update;
    const stored = this.#store.get(job.id);
    if (!stored) {
      // Created outside this instance (or before the store existed): adopt it.
      this.#store.insert({ ...job, state: "pending", createdAt: job.createdAt || this.#now() }, { traceparent: update.traceparent, causeEventId: job.id });
    }
    if (stored && stored.state === transition.state && stored.history.at(-1)?.reason === transition.reason) return;
    // Events can arrive out of order (a pod's view lags the object's): never move a running job back to pending.
    if (stored?.state === "running" && transition.state === "pending") return;
    const patch = {
      ...(job.startedAt || transition.state === "running" ? { startedAt: job.startedAt ?? transition.at } : {}),
      ...(isTerminal(transition.state) ? { finishedAt: job.finishedAt, exitCode: job.exitCode, failedRank: job.failedRank, failureReason: job.failureReason, message: job.message } : {}),
    };
    if (this.#store.transition(job.id, transition, patch, update.logTail)) this.#notifier.flush();
    // A pod that can never start leaves its object retrying forever: remove it once the job is failed.
    if (o.kind === "Pod" && transition.state === "failed" && job.object && isTrainingObjectKind(job.object.kind)) {
      await this.client.delete(job.object.kind, job.object.name);
    }
  }

  /** Read a training object (Reference-mode ApiServerSource events); Pods and unknown kinds give undefined. */
  async readObject(kind: string, name: string): Promise<KubeObject | undefined> {
    if (!isTrainingObjectKind(kind)) return undefined;
    const o = await this.client.read(kind, name);
    return o ? { ...o, kind } : undefined;
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    await this.#synced;
    return this.#store.get(jobId);
  }

  async list(filter?: JobFilter): Promise<JobRecord[]> {
    await this.#synced;
    return this.#store.list(filter);
  }

  /** Validates at once (unknown job, bad rank), then streams the rank's pod log. */
  logs(jobId: string, opts: LogOptions = {}): AsyncIterable<string> {
    const job = this.#mustGet(jobId);
    return this.#podLines(job, logRank(job, opts.rank), opts);
  }

  async *#podLines(job: JobRecord, rank: number, opts: LogOptions): AsyncGenerator<string> {
    const jobId = job.id;
    const kind = job.object?.kind;
    if (!job.object || !isTrainingObjectKind(kind)) return;
    for (;;) {
      const pods = (await this.client.pods(podSelector(kind, jobId, job.object.name))).items;
      const pod = podForRank(kind, pods, rank);
      const current = this.#store.get(jobId);
      if (pod?.metadata.name) {
        try {
          yield* this.client.podLog(pod.metadata.name, TRAINER_CONTAINER[kind], { follow: opts.follow ?? false, signal: opts.signal });
          return;
        } catch (e) {
          // 400 while the container is still waiting: keep polling when following.
          if (!opts.follow || !(e instanceof ValidationError)) throw e;
        }
      }
      if (!opts.follow || !current || isTerminal(current.state) || opts.signal?.aborted) {
        if (current?.state === "failed" && !pod) yield `[flywheel] ${current.failureReason ?? "Failed"}: ${current.message ?? ""}`;
        return;
      }
      await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }

  async cancel(jobId: string): Promise<JobRecord> {
    const job = this.#mustGet(jobId);
    if (isTerminal(job.state)) return job;
    if (job.object && isTrainingObjectKind(job.object.kind)) await this.client.delete(job.object.kind, job.object.name);
    const at = this.#now();
    if (this.#store.transition(jobId, { state: "cancelled", at, reason: "Cancelled", message: "user" }, { finishedAt: at })) this.#notifier.flush();
    return this.#mustGet(jobId);
  }

  async close(): Promise<void> {
    for (const stop of this.#stops.splice(0)) stop();
    await this.#notifier.drain();
    this.#store.close();
  }

  #mustGet(jobId: string): JobRecord {
    const job = this.#store.get(jobId);
    if (!job) throw new NotFoundError(`job ${jobId} not found`);
    return job;
  }

  #fail(jobId: string, reason: string, message: string): void {
    const at = this.#now();
    this.#store.transition(jobId, { state: "failed", at, reason, message }, { finishedAt: at, failureReason: reason, message }, `[flywheel] launch failed: ${message}`);
    this.#notifier.flush();
  }

}

const apiVersionOf = (kind: TrainingObjectKind): string =>
  ({ Job: "batch/v1", PyTorchJob: "kubeflow.org/v1", TrainJob: "trainer.kubeflow.org/v1alpha1", SparkApplication: "sparkoperator.k8s.io/v1beta2" })[kind];

export type { StatusVerdict };
