// The batch/v1 Job controller (Kubernetes 1.31+ behaviour, non-indexed completions): pods from the template with
// the controller's labels and ownerReference, replacement with exponential backoff, activeDeadlineSeconds, and the
// status it writes (active/ready/succeeded/failed/terminating, SuccessCriteriaMet+Complete or FailureTarget+Failed
// with reason CompletionsReached / BackoffLimitExceeded / DeadlineExceeded), then ttlSecondsAfterFinished.
import type { Informer } from "./informer.ts";
import { arrAt, KINDS, metaOf, nameOf, now, num, objAt, str, uidOf, type KubeHttp, type Obj } from "./kube-http.ts";
import type { KeyedQueue } from "./queue.ts";

export interface JobControllerDeps {
  readonly http: KubeHttp;
  readonly namespace: string;
  readonly jobs: Informer;
  readonly pods: Informer;
  readonly queue: () => KeyedQueue;
  readonly podBackoffMs: number;
}

const phaseOf = (p: Obj): string => str(objAt(p, "status").phase);
const isTrue = (o: Obj, type: string): boolean => arrAt(o, "status", "conditions").some((c) => c.type === type && c.status === "True");
const ownedBy = (uid: string) => (p: Obj): boolean => arrAt(p, "metadata", "ownerReferences").some((r) => r.uid === uid && r.controller === true);
/** When the pod's last container ended (for the backoff before its replacement). */
const finishedAt = (p: Obj): number =>
  Math.max(0, ...arrAt(p, "status", "containerStatuses").map((c) => Date.parse(str(objAt(c, "state", "terminated").finishedAt)) || 0));

export class JobController {
  readonly #d: JobControllerDeps;
  /** Pods created but not yet seen by the informer (the controller's "expectations"): never create twice. */
  readonly #expected = new Map<string, Set<string>>();
  readonly #ttl = new Set<string>();

  constructor(d: JobControllerDeps) {
    this.#d = d;
  }

  /** The job a pod event concerns (its controller ownerReference). */
  ownerOf(pod: Obj): string | undefined {
    const ref = arrAt(pod, "metadata", "ownerReferences").find((r) => r.kind === "Job" && r.controller === true);
    const seen = this.#expected.get(str(ref?.uid));
    seen?.delete(nameOf(pod));
    return ref ? str(ref.name) : undefined;
  }

  async reconcile(name: string): Promise<void> {
    const job = this.#d.jobs.cache.get(name);
    if (!job || metaOf(job).deletionTimestamp) return;
    const spec = objAt(job, "spec");
    const status = objAt(job, "status");
    if (isTrue(job, "Complete") || isTrue(job, "Failed")) return this.#scheduleTtl(job);
    if (spec.suspend === true) return;
    const uid = uidOf(job);
    const pods = [...this.#d.pods.cache.values()].filter(ownedBy(uid));
    const active = pods.filter((p) => !["Succeeded", "Failed"].includes(phaseOf(p)) && !metaOf(p).deletionTimestamp);
    const succeeded = Math.max(num(status.succeeded), pods.filter((p) => phaseOf(p) === "Succeeded").length);
    const failedPods = pods.filter((p) => phaseOf(p) === "Failed");
    const failed = Math.max(num(status.failed), failedPods.length);
    const ready = active.filter((p) => arrAt(p, "status", "conditions").some((c) => c.type === "Ready" && c.status === "True")).length;
    const completions = typeof spec.completions === "number" ? spec.completions : 1;
    const parallelism = typeof spec.parallelism === "number" ? spec.parallelism : 1;
    const backoffLimit = typeof spec.backoffLimit === "number" ? spec.backoffLimit : 6;
    const startTime = str(status.startTime) || now();
    const deadline = typeof spec.activeDeadlineSeconds === "number" ? Date.parse(startTime) + spec.activeDeadlineSeconds * 1000 : undefined;

    let terminal: { target: string; type: string; reason: string; message: string } | undefined;
    if (succeeded >= completions) terminal = { target: "SuccessCriteriaMet", type: "Complete", reason: "CompletionsReached", message: "Reached expected number of succeeded pods" };
    else if (failed > backoffLimit) terminal = { target: "FailureTarget", type: "Failed", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
    else if (deadline !== undefined && Date.now() >= deadline) terminal = { target: "FailureTarget", type: "Failed", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" };

    const counts = { active: active.length || null, ready, succeeded: succeeded || null, failed: failed || null, terminating: 0, uncountedTerminatedPods: {} };
    if (terminal) {
      for (const p of active) await this.#d.http.remove(KINDS.Pod, this.#d.namespace, nameOf(p));
      const t = now();
      const cond = (type: string): Obj => ({ type, status: "True", lastProbeTime: t, lastTransitionTime: t, reason: terminal.reason, message: terminal.message });
      await this.#d.http.patchStatus(KINDS.Job, this.#d.namespace, name, job, {
        ...counts,
        active: null,
        ready: 0,
        startTime,
        ...(terminal.type === "Complete" ? { completionTime: t } : {}),
        conditions: [...arrAt(job, "status", "conditions"), cond(terminal.target), cond(terminal.type)],
      });
      return;
    }
    if (deadline !== undefined) this.#d.queue().addAfter(name, deadline - Date.now() + 50);

    const expected = this.#expected.get(uid) ?? new Set<string>();
    this.#expected.set(uid, expected);
    // The informer may have shown a created pod before its name was recorded here.
    for (const n of [...expected]) if (pods.some((p) => nameOf(p) === n)) expected.delete(n);
    const want = Math.min(parallelism, completions - succeeded) - active.length - expected.size;
    if (want > 0) {
      // A failed pod is replaced after 10 s, 20 s, 40 s, ... (capped at 6 min), as upstream.
      const last = Math.max(0, ...failedPods.map(finishedAt));
      const wait = failed > 0 ? Math.min(360_000, this.#d.podBackoffMs * 2 ** (failed - 1)) - (Date.now() - last) : 0;
      if (wait > 0) this.#d.queue().addAfter(name, wait);
      else for (let i = 0; i < want; i++) expected.add(nameOf(await this.#d.http.create(KINDS.Pod, this.#d.namespace, this.#podFor(job))));
    }
    if (str(status.startTime) !== startTime || num(status.active) !== active.length || num(status.ready) !== ready || num(status.succeeded) !== succeeded || num(status.failed) !== failed || status.uncountedTerminatedPods === undefined) {
      await this.#d.http.patchStatus(KINDS.Job, this.#d.namespace, name, job, { ...counts, startTime });
    }
  }

  #podFor(job: Obj): Obj {
    const tpl = objAt(job, "spec", "template");
    const tm = objAt(tpl, "metadata");
    const name = nameOf(job);
    const uid = uidOf(job);
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${name}-`,
        namespace: this.#d.namespace,
        labels: { ...objAt(tm, "labels"), "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name },
        annotations: { ...objAt(tm, "annotations") },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name, uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: { terminationGracePeriodSeconds: 30, dnsPolicy: "ClusterFirst", schedulerName: "default-scheduler", ...objAt(tpl, "spec"), nodeName: "process-kubelet" },
    };
  }

  #scheduleTtl(job: Obj): void {
    const ttl = objAt(job, "spec").ttlSecondsAfterFinished;
    const name = nameOf(job);
    if (typeof ttl !== "number" || this.#ttl.has(uidOf(job))) return;
    this.#ttl.add(uidOf(job));
    const done = arrAt(job, "status", "conditions").find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
    const at = (Date.parse(str(done?.lastTransitionTime)) || Date.now()) + ttl * 1000;
    // The TTL-after-finished controller deletes with background propagation.
    setTimeout(() => void this.#d.http.remove(KINDS.Job, this.#d.namespace, name, "Background").catch(() => undefined), Math.max(0, at - Date.now())).unref();
  }
}
