// Wires the emulated controllers to their informers and work queues (a pod event requeues its owner).
import type { Handler, Informer } from "./informer.ts";
import { JobController } from "./job-controller.ts";
import { KINDS, nameOf, type Kind, type KubeHttp, type Obj } from "./kube-http.ts";
import { PyTorchJobController } from "./pytorch-controller.ts";
import { KeyedQueue } from "./queue.ts";
import { KServeController } from "./serving/kserve.ts";
import { SeldonController } from "./serving/seldon.ts";
import type { StorageOptions } from "./serving/storage.ts";

export interface ControllerDeps {
  readonly http: KubeHttp;
  readonly namespace: string;
  readonly podBackoffMs: number;
  readonly pods: Informer;
  readonly on: (kind: Kind, handler: Handler) => Informer;
  readonly onError: (message: string) => void;
  readonly workDir: string;
  readonly pvcDir: (claim: string) => string;
  readonly mlflow: StorageOptions["mlflow"];
  readonly onServingTargets?: (() => void) | undefined;
}

export interface Controllers {
  onPod(pod: Obj): void;
  readonly kserve: KServeController;
  readonly seldon: SeldonController;
  close(): Promise<void>;
}

export function startControllers(d: ControllerDeps): Controllers {
  const queues: KeyedQueue[] = [];
  const queue = (fn: (key: string) => Promise<void>): KeyedQueue => {
    const q = new KeyedQueue(fn, d.onError);
    queues.push(q);
    return q;
  };

  const jobCtl: JobController = new JobController({ http: d.http, namespace: d.namespace, jobs: d.on(KINDS.Job, (_t, job) => jobQueue.add(nameOf(job))), pods: d.pods, queue: () => jobQueue, podBackoffMs: d.podBackoffMs });
  const jobQueue = queue((k) => jobCtl.reconcile(k));
  const ptCtl: PyTorchJobController = new PyTorchJobController({ http: d.http, namespace: d.namespace, jobs: d.on(KINDS.PyTorchJob, (_t, job) => ptQueue.add(nameOf(job))), pods: d.pods });
  const ptQueue = queue((k) => ptCtl.reconcile(k));

  const storage = { workDir: d.workDir, pvcDir: d.pvcDir, mlflow: d.mlflow, http: d.http, namespace: d.namespace };
  const kserve: KServeController = new KServeController({ ...storage, onError: d.onError, onTargets: d.onServingTargets, isvcs: d.on(KINDS.InferenceService, (_t, o) => isvcQueue.add(nameOf(o))) });
  const isvcQueue = queue((k) => kserve.reconcile(k));
  const seldon: SeldonController = new SeldonController({ ...storage, models: d.on(KINDS.Model, (_t, o) => modelQueue.add(nameOf(o))) });
  const modelQueue = queue((k) => seldon.reconcile(k));

  return {
    kserve,
    seldon,
    onPod(pod) {
      const job = jobCtl.ownerOf(pod);
      if (job) jobQueue.add(job);
      const pt = ptCtl.ownerOf(pod);
      if (pt) ptQueue.add(pt);
    },
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
      await kserve.close();
      await seldon.close();
    },
  };
}
