/**
 * A process kubelet on the fake Kubernetes API server (issue 14): the controllers and the kubelet a cluster would run,
 * with local processes instead of containers.
 *
 *   const kube = await startFakeKube({ validate: crdValidator });
 *   const kubelet = await startKubelet({ kube, workDir, sources: [{ source: apiServerSourceYamlObject, sinkUrl }] });
 *   ... Flywheel creates Jobs / PyTorchJobs / InferenceServices / Models through the API ...
 *   await kubelet.close();   // kills every process it started
 *
 * What it plays, each through list+watch (from a resourceVersion) and writes over HTTP, as the real component does:
 * - the Job controller (batch/v1): pods, status.active/ready/succeeded/failed, Complete/Failed conditions;
 * - the Kubeflow training operator (PyTorchJob): master/worker pods and Services, operator env, conditions;
 * - the kubelet: each Pod runs as a local process group (argv, never a shell) with the container's env and args;
 *   volumes are directories under workDir; stdout/stderr become the pod log (pods/log, follow=true);
 * - Knative's ApiServerSource adapter: dev.knative.apiserver.{resource,ref}.{add,update,delete} CloudEvents to a sink,
 *   a failed send retried as the adapter does (5 retries, exponential backoff);
 * - KServe (InferenceService) and Seldon Core v2 (Model): a storage initializer, then an embedded V2 server process.
 * The container image is ignored: the command runs on this machine.
 */
import path from "node:path";
import type { FakeKube } from "../../fake-kube/index.ts";
import { ROOT } from "../../knative-process.ts";
import { startApiServerSource } from "./apiserversource.ts";
import { startControllers } from "./controllers.ts";
import { inform, type Handler, type Informer } from "./informer.ts";
import { collectionPath, KINDS, KubeHttp, type Kind } from "./kube-http.ts";
import { PodNetwork } from "./network.ts";
import { PodRuntime } from "./runtime.ts";

/** One rendered ApiServerSource object (sources.knative.dev/v1) and where its events go (e.g. the broker ingress). */
export interface ApiServerSourceBinding {
  readonly source: Record<string, unknown>;
  readonly sinkUrl: string;
}

export interface KubeletOptions {
  /** The fake API server: watched and written over HTTP (kubeconfig); pod logs are handed to it as a kubelet would. */
  readonly kube: Pick<FakeKube, "url" | "kubeconfig" | "appendLog" | "endLog">;
  /** Namespace to watch (default: the kubeconfig context's namespace). */
  readonly namespace?: string;
  /** Root of the pods' volumes: PVC `<claim>` -> `<workDir>/pvc/<claim>`, emptyDir/secret/configMap -> `<workDir>/pods/<pod>/...`. */
  readonly workDir: string;
  /** Directory that stands for the image's working directory (relative commands and scripts resolve here). Default: repo root. */
  readonly imageDir?: string;
  /** Extra variables for every process (e.g. PATH, PYTHONPATH); the container's env wins. */
  readonly env?: Readonly<Record<string, string>>;
  /** Cluster URLs the processes reach by a local address instead, e.g. {"http://mlflow.flywheel.svc:5000": "http://127.0.0.1:4321"}. */
  readonly serviceUrls?: Readonly<Record<string, string>>;
  /** ApiServerSources to emulate (the rendered objects): each watches its resources and posts CloudEvents to sinkUrl. */
  readonly sources?: readonly ApiServerSourceBinding[];
  /** MLflow tracking server for storage URIs the registry resolves (runs:/, models:/, mlflow-artifacts:/). */
  readonly mlflow?: { readonly trackingUri: string; readonly token?: string };
  /** The serving revisions' queue-proxy metrics endpoints, whenever they change (for Prometheus' targets). */
  readonly onServingTargets?: (targets: { address: string; labels: Record<string, string> }[]) => void;
  /** Grace between SIGTERM and SIGKILL when a pod is deleted (default: the pod's terminationGracePeriodSeconds, capped at 5 s). */
  readonly killGraceMs?: number;
  /** Delay before a failed Job pod is replaced (the Job controller's backoff; default 10 s, doubling, as upstream). */
  readonly podBackoffMs?: number;
}

/** A pod the kubelet runs (one process group per container). */
export interface RunningPod {
  readonly namespace: string;
  readonly name: string;
  readonly pid: number;
}

/** A CloudEvent the ApiServerSource emulation delivered (or failed to deliver) to its sink. */
export interface EmittedEvent {
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly id: string;
  /** HTTP status of the sink's last answer; 0 when the sink could not be reached. */
  readonly status: number;
  /** Sends made for it (the adapter retries connection errors and 404/413/425/429/502/503/504, up to 5 times). */
  readonly attempts: number;
}

/** A served model: the URL its object reports (status.url) and the revisions behind it. */
export interface ServedModel {
  readonly kind: "InferenceService" | "Model";
  readonly namespace: string;
  readonly name: string;
  readonly url: string;
  readonly revisions: readonly { readonly name: string; readonly percent: number; readonly url: string }[];
}

export interface Kubelet {
  readonly workDir: string;
  /** Host directory that stands for a PVC. */
  pvcDir(claim: string): string;
  /** seldon-mesh: routes `POST /v2/models/<m>/infer` by the `Seldon-Model` header to that Model's server (SeldonServingBackend meshUrl). */
  readonly seldonMeshUrl: string;
  pods(): RunningPod[];
  served(): ServedModel[];
  /** CloudEvents sent by the ApiServerSource emulation, in order. */
  readonly events: readonly EmittedEvent[];
  /** Writes or reconciles that failed (e.g. a status the CRD refuses): empty in a healthy run. */
  readonly errors: readonly string[];
  /** Stop watching, kill every process group it started, close its servers. */
  close(): Promise<void>;
}

export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const kc = opts.kube.kubeconfig;
  const namespace = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  const http = new KubeHttp(opts.kube.url, kc.getCurrentUser()?.token);
  const errors: string[] = [];
  const onError = (m: string): void => void (errors.length < 1000 && errors.push(m));
  const events: EmittedEvent[] = [];
  const pvcDir = (claim: string): string => path.join(opts.workDir, "pvc", claim);
  const informers: Informer[] = [];
  const on = (kind: Kind, handler: Handler): Informer => {
    const i = inform(http, { path: collectionPath(kind, namespace), onError }, handler);
    informers.push(i);
    return i;
  };

  const services = on(KINDS.Service, () => undefined);
  // Handlers run only after this function's synchronous setup, so runtime and controllers exist by then.
  const pods = on(KINDS.Pod, async (type, pod) => {
    controllers.onPod(pod);
    await runtime.onPod(type, pod);
  });
  const view = { services: () => [...services.cache.values()], pods: () => [...pods.cache.values()] };
  const runtime = new PodRuntime({
    http, workDir: opts.workDir, imageDir: opts.imageDir ?? ROOT, imageWorkdir: "/app", pvcDir, serviceUrls: opts.serviceUrls ?? {},
    logs: opts.kube, network: new PodNetwork(), view, env: opts.env ?? {}, killGraceMs: opts.killGraceMs, onError,
  });
  const controllers = startControllers({ http, namespace, podBackoffMs: opts.podBackoffMs ?? 10_000, pods, on, onError, workDir: opts.workDir, pvcDir, mlflow: opts.mlflow,
    onServingTargets: () => opts.onServingTargets?.(controllers.kserve.scrapeTargets()),
  });
  const seldonMeshUrl = await controllers.seldon.mesh.listen();
  await Promise.all(informers.map((i) => i.synced));

  const sources: Informer[] = [];
  for (const b of opts.sources ?? []) sources.push(...(await startApiServerSource(http, b.source, b.sinkUrl, (e) => events.push(e), onError)));

  return {
    workDir: opts.workDir,
    seldonMeshUrl,
    pvcDir,
    pods: () => runtime.pods(),
    served: () => [
      ...controllers.kserve.served().map((m) => ({ kind: "InferenceService" as const, namespace, ...m })),
      ...controllers.seldon.served().map((m) => ({ kind: "Model" as const, namespace, name: m.name, url: seldonMeshUrl, revisions: [{ name: m.name, percent: 100, url: m.url }] })),
    ],
    events,
    errors,
    close: async () => {
      for (const i of [...sources, ...informers]) i.stop();
      await controllers.close();
      await runtime.stop();
    },
  };
}
