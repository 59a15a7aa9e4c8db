// Wires the emulated controllers to their informers and work queues (a pod event requeues its owner).
import type { Handler, Informer } from "./informer.ts";
import { JobController } from "./job-controller.ts";
import { KINDS, nameOf, type Kind, type KubeHttp, type Obj } from "./kube-http.ts";
import { PyTorchJobController } from "./pytorch-controller.ts";
import { KeyedQueue } from "./queue.ts";

export interface ControllerDeps {
  readonly http: KubeHttp;
  readonly namespace: string;
  readonly podBackoffMs: number;
  readonly pods: Informer;
  readonly on: (kind: Kind, handler: Handler) => Informer;
  readonly onError: (message: string) => void;
}

export interface Controllers {
  onPod(pod: Obj): void;
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

  return {
    onPod(pod) {
      const job = jobCtl.ownerOf(pod);
      if (job) jobQueue.add(job);
      const pt = ptCtl.ownerOf(pod);
      if (pt) ptQueue.add(pt);
    },
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
