// The Kubeflow training operator's PyTorchJob controller (v1.9): a headless Service and a Pod per replica
// (<job>-master-0, <job>-worker-<i>) with the operator's labels, port and env (MASTER_ADDR/PORT, WORLD_SIZE, RANK,
// PET_*), and the status it writes: replicaStatuses and the conditions Created, Running, Succeeded, Failed
// (reasons PyTorchJob<Condition>, Running turned False when the job ends).
import type { Informer } from "./informer.ts";
import { arrAt, isObj, KINDS, metaOf, nameOf, now, num, objAt, str, uidOf, type KubeHttp, type Obj } from "./kube-http.ts";

export interface PyTorchControllerDeps {
  readonly http: KubeHttp;
  readonly namespace: string;
  readonly jobs: Informer;
  readonly pods: Informer;
}

const DEFAULT_PORT = 23456;
const PORT_NAME = "pytorchjob-port";
const CONTAINER = "pytorch";
const L = {
  jobName: "training.kubeflow.org/job-name",
  operator: "training.kubeflow.org/operator-name",
  type: "training.kubeflow.org/replica-type",
  index: "training.kubeflow.org/replica-index",
  role: "training.kubeflow.org/job-role",
} as const;

const phaseOf = (p: Obj): string => str(objAt(p, "status").phase);

export class PyTorchJobController {
  readonly #d: PyTorchControllerDeps;

  constructor(d: PyTorchControllerDeps) {
    this.#d = d;
  }

  ownerOf(pod: Obj): string | undefined {
    const ref = arrAt(pod, "metadata", "ownerReferences").find((r) => r.kind === "PyTorchJob" && r.controller === true);
    return ref ? str(ref.name) : undefined;
  }

  async reconcile(name: string): Promise<void> {
    const job = this.#d.jobs.cache.get(name);
    if (!job || metaOf(job).deletionTimestamp) return;
    let conds = arrAt(job, "status", "conditions");
    const done = conds.some((c) => (c.type === "Succeeded" || c.type === "Failed") && c.status === "True");
    if (done) return this.#settleFinished(name, job);
    const ns = this.#d.namespace;
    const specs = objAt(job, "spec", "pytorchReplicaSpecs");
    const types = Object.keys(specs).filter((t) => isObj(specs[t]));
    const t0 = now();
    const setCond = (type: string, reason: string, message: string): void => {
      // kubeflow/common filterOutCondition: a new Succeeded/Failed turns Running False; the same type is replaced.
      conds = conds
        .filter((c) => c.type !== type && !(type === "Running" && c.type === "Restarting"))
        .map((c) => ((type === "Succeeded" || type === "Failed") && c.type === "Running" ? { ...c, status: "False" } : c));
      conds.push({ type, status: "True", reason, message, lastUpdateTime: t0, lastTransitionTime: t0 });
    };
    if (!conds.some((c) => c.type === "Created")) setCond("Created", "PyTorchJobCreated", `PyTorchJob ${name} is created.`);

    const pods = [...this.#d.pods.cache.values()].filter((p) => arrAt(p, "metadata", "ownerReferences").some((r) => r.uid === uidOf(job)));
    for (const type of types) {
      const replicas = num(objAt(specs, type).replicas) || 1;
      for (let i = 0; i < replicas; i++) {
        const podName = `${name}-${type.toLowerCase()}-${i}`;
        await this.#d.http.create(KINDS.Service, ns, this.#service(job, type, i));
        if (!pods.some((p) => nameOf(p) === podName)) await this.#d.http.create(KINDS.Pod, ns, this.#pod(job, type, i));
      }
    }

    const replicaStatuses: Obj = {};
    let terminal = false;
    for (const type of types) {
      const mine = pods.filter((p) => str(objAt(p, "metadata", "labels")[L.type]) === type.toLowerCase());
      const active = mine.filter((p) => phaseOf(p) === "Running" || phaseOf(p) === "Pending").length;
      const running = mine.filter((p) => phaseOf(p) === "Running").length;
      const succeeded = mine.filter((p) => phaseOf(p) === "Succeeded").length;
      const failed = mine.filter((p) => phaseOf(p) === "Failed").length;
      const replicas = num(objAt(specs, type).replicas) || 1;
      const selector = { matchLabels: { [L.jobName]: name, [L.operator]: "pytorchjob-controller", [L.type]: type.toLowerCase() } };
      // Zero counts are null: the status is a merge patch, where an omitted key would keep a stale count (the Go
      // operator's `omitempty` drops them from a full update).
      replicaStatuses[type] = { active: active || null, succeeded: succeeded || null, failed: failed || null, labelSelector: selector, selector: Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",") };
      if (terminal) continue;
      if (type === "Master") {
        if (running > 0) setCond("Running", "PyTorchJobRunning", `PyTorchJob ${ns}/${name} is running.`);
        // When the master succeeds, the job is finished.
        if (replicas - succeeded === 0) {
          setCond("Succeeded", "PyTorchJobSucceeded", `PyTorchJob ${ns}/${name} successfully completed.`);
          terminal = true;
          continue;
        }
      }
      if (failed > 0) {
        setCond("Failed", "PyTorchJobFailed", `PyTorchJob ${ns}/${name} has failed because ${failed} ${type} replica(s) failed.`);
        terminal = true;
      }
    }
    const prev = objAt(job, "status");
    const status: Obj = {
      conditions: conds,
      replicaStatuses,
      startTime: str(prev.startTime) || t0,
      ...(terminal ? { completionTime: t0 } : {}),
      lastReconcileTime: t0,
    };
    const changed = JSON.stringify(conds.map((c) => [c.type, c.status])) !== JSON.stringify(arrAt(job, "status", "conditions").map((c) => [c.type, c.status])) || JSON.stringify(withoutNulls(replicaStatuses)) !== JSON.stringify(prev.replicaStatuses ?? null);
    if (changed) await this.#d.http.patchStatus(KINDS.PyTorchJob, ns, name, job, status);
  }

  // kubeflow/common ReconcileJobs on a finished job: "if the job succeeded, we manually set the replica status" —
  // replicas still active (a Worker that exits after the Master) are counted as succeeded, once.
  async #settleFinished(name: string, job: Obj): Promise<void> {
    const succeeded = arrAt(job, "status", "conditions").some((c) => c.type === "Succeeded" && c.status === "True");
    const prev = objAt(job, "status", "replicaStatuses");
    if (!succeeded || !Object.values(prev).some((r) => isObj(r) && num(r.active) > 0)) return;
    const replicaStatuses: Obj = {};
    for (const [type, r] of Object.entries(prev)) {
      if (!isObj(r)) continue;
      replicaStatuses[type] = { ...r, active: null, succeeded: num(r.succeeded) + num(r.active) || null };
    }
    await this.#d.http.patchStatus(KINDS.PyTorchJob, this.#d.namespace, name, job, { replicaStatuses });
  }

  #labels(job: Obj, type: string, index: number): Record<string, string> {
    return {
      [L.jobName]: nameOf(job),
      [L.operator]: "pytorchjob-controller",
      [L.type]: type.toLowerCase(),
      [L.index]: String(index),
      ...(type === "Master" ? { [L.role]: "master" } : {}),
    };
  }

  #owner(job: Obj): Obj[] {
    return [{ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob", name: nameOf(job), uid: uidOf(job), controller: true, blockOwnerDeletion: true }];
  }

  #port(job: Obj): number {
    const master = arrAt(job, "spec", "pytorchReplicaSpecs", "Master", "template", "spec", "containers").find((c) => c.name === CONTAINER);
    const p = arrAt(master, "ports").find((x) => x.name === PORT_NAME);
    return p ? num(p.containerPort) : DEFAULT_PORT;
  }

  #service(job: Obj, type: string, index: number): Obj {
    const labels = this.#labels(job, type, index);
    return {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: `${nameOf(job)}-${type.toLowerCase()}-${index}`, namespace: this.#d.namespace, labels, ownerReferences: this.#owner(job) },
      spec: { clusterIP: "None", selector: labels, ports: [{ name: PORT_NAME, port: this.#port(job), targetPort: this.#port(job) }] },
    };
  }

  #pod(job: Obj, type: string, index: number): Obj {
    const spec = objAt(job, "spec");
    const tpl = objAt(spec, "pytorchReplicaSpecs", type, "template");
    const total = Object.values(objAt(spec, "pytorchReplicaSpecs")).reduce<number>((n, r) => n + (num(objAt(r).replicas) || 1), 0);
    const nproc = Number(str(spec.nprocPerNode)) || 1;
    const rank = type === "Worker" ? index + 1 : index;
    const port = this.#port(job);
    const master = `${nameOf(job)}-master-0`;
    const hasMaster = isObj(objAt(spec, "pytorchReplicaSpecs").Master);
    const operatorEnv = [
      { name: "PYTHONUNBUFFERED", value: "0" },
      ...(hasMaster
        ? [
            { name: "MASTER_PORT", value: String(port) },
            { name: "PET_MASTER_PORT", value: String(port) },
            { name: "MASTER_ADDR", value: master },
            { name: "PET_MASTER_ADDR", value: master },
            { name: "WORLD_SIZE", value: String(total * nproc) },
            { name: "RANK", value: String(rank) },
            { name: "PET_NPROC_PER_NODE", value: str(spec.nprocPerNode) || "1" },
            { name: "PET_NODE_RANK", value: String(rank) },
          ]
        : []),
      { name: "PET_NNODES", value: String(total) },
    ];
    const containers = arrAt(tpl, "spec", "containers").map((c) => {
      const ports = arrAt(c, "ports");
      const withPort = c.name === CONTAINER && !ports.some((p) => p.name === PORT_NAME) ? [...ports, { name: PORT_NAME, containerPort: port, protocol: "TCP" }] : ports;
      return { ...c, ports: withPort, env: [...arrAt(c, "env"), ...operatorEnv] };
    });
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${nameOf(job)}-${type.toLowerCase()}-${index}`,
        namespace: this.#d.namespace,
        labels: { ...objAt(tpl, "metadata", "labels"), ...this.#labels(job, type, index) },
        annotations: { ...objAt(tpl, "metadata", "annotations") },
        ownerReferences: this.#owner(job),
      },
      spec: { terminationGracePeriodSeconds: 30, ...objAt(tpl, "spec"), restartPolicy: str(objAt(spec, "pytorchReplicaSpecs", type).restartPolicy) || "Never", containers, nodeName: "process-kubelet" },
    };
  }
}

const withoutNulls = (o: Obj): Obj =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null).map(([k, v]) => [k, isObj(v) ? withoutNulls(v) : v]));
