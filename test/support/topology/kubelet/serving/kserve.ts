// KServe's InferenceService controller in Serverless mode, for one V2 predictor: a revision (<isvc>-predictor-0000N)
// per predictor change, each the storage initializer plus a V2 runtime process; a stable route (status.url) that
// splits traffic latest/prev by canaryTrafficPercent, promoted by removing it, with KServe's own rollout rules
// (kserve-rollout.ts). Status as KServe writes it: conditions, components.predictor (revisions, traffic), modelStatus,
// url/address, observedGeneration.
import path from "node:path";
import type { Informer } from "../informer.ts";
import { KINDS, metaOf, nameOf, now, num, objAt, str, type KubeHttp, type Obj } from "../kube-http.ts";
import { Front, startRuntime, weighted, type Backend, type RuntimeProcess } from "./front.ts";
import { propagateRollout, routeTraffic, tagRoutingOf, type Rollout, type TrafficStatus } from "./kserve-rollout.ts";
import { QueueProxy } from "./queue-proxy.ts";
import { initializeStorage, type StorageOptions } from "./storage.ts";

export interface KServeDeps extends StorageOptions {
  readonly http: KubeHttp;
  readonly namespace: string;
  readonly isvcs: Informer;
  readonly workDir: string;
  readonly onError: (message: string) => void;
  /** Called when the set of queue-proxy metrics endpoints changes (Prometheus' targets). */
  readonly onTargets?: (() => void) | undefined;
}

interface Revision {
  readonly name: string;
  readonly hash: string;
  runtime?: RuntimeProcess;
  /** The revision's queue-proxy: traffic goes through it, and it counts what the revision answered. */
  queue?: QueueProxy;
  failure?: string;
}

interface State {
  readonly front: Front;
  readonly revisions: Revision[];
  rollout: Rollout;
  /** The route's status.traffic; `traffic` is the same with each revision's URL, for the front. */
  route: TrafficStatus[];
  traffic: (Backend & { name: string })[];
}

const READY_TYPES = ["IngressReady", "LatestDeploymentReady", "PredictorConfigurationReady", "PredictorReady", "PredictorRouteReady", "Ready", "RoutesReady"] as const;

export class KServeController {
  readonly #d: KServeDeps;
  readonly #state = new Map<string, State>();

  constructor(d: KServeDeps) {
    this.#d = d;
  }

  /** Every running revision's queue-proxy user-metrics endpoint, with the target labels a ServiceMonitor gives it. */
  scrapeTargets(): { address: string; labels: Record<string, string> }[] {
    const namespace = this.#d.namespace;
    return [...this.#state.values()].flatMap((s) =>
      s.revisions.flatMap((r) => (r.queue ? [{ address: r.queue.metricsAddress, labels: { namespace, service: `${r.name}-private`, pod: `${r.name}-deployment-0` } }] : [])),
    );
  }

  served(): { name: string; url: string; revisions: { name: string; percent: number; url: string }[] }[] {
    return [...this.#state].map(([name, s]) => ({ name, url: s.front.url, revisions: s.traffic.map((t) => ({ name: t.name, percent: t.percent, url: t.url })) }));
  }

  async reconcile(name: string): Promise<void> {
    const isvc = this.#d.isvcs.cache.get(name);
    if (!isvc || metaOf(isvc).deletionTimestamp) return this.#teardown(name);
    const predictor = objAt(isvc, "spec", "predictor");
    const { canaryTrafficPercent, ...template } = predictor;
    const hash = JSON.stringify(template);
    let st = this.#state.get(name);
    if (!st) {
      const state: State = { front: new Front(() => weighted(state.traffic)), revisions: [], rollout: {}, route: [], traffic: [] };
      await state.front.listen();
      this.#state.set(name, state);
      st = state;
    }
    let latest = st.revisions.at(-1);
    if (!latest || latest.hash !== hash) {
      latest = { name: `${name}-predictor-${String(st.revisions.length + 1).padStart(5, "0")}`, hash };
      st.revisions.push(latest);
      await this.#write(isvc, st, latest, "progressing");
      await this.#startRevision(isvc, latest);
    }
    if (latest.failure) return this.#write(isvc, st, latest, "failed");
    const canary = typeof canaryTrafficPercent === "number" ? canaryTrafficPercent : undefined;
    const latestReady = st.revisions.filter((r) => r.runtime).at(-1);
    const route = routeTraffic(canary, st.rollout, latestReady?.name, tagRoutingOf(metaOf(isvc).annotations));
    if (route) {
      st.route = route;
      st.rollout = propagateRollout(st.rollout, route, latestReady?.name, latest.name);
      st.traffic = route.map((t) => ({ name: t.revisionName, url: st.revisions.find((r) => r.name === t.revisionName)?.queue?.url ?? "", percent: t.percent }));
      // Revisions the route no longer names take no traffic: Knative scales them away.
      for (const r of st.revisions) if (r.runtime && !route.some((t) => t.revisionName === r.name)) await this.#stopRevision(r);
    }
    await this.#write(isvc, st, latest, "ready");
  }

  async #startRevision(isvc: Obj, rev: Revision): Promise<void> {
    const model = objAt(isvc, "spec", "predictor", "model");
    const uri = str(model.storageUri);
    const dir = path.join(this.#d.workDir, "serving", this.#d.namespace, nameOf(isvc), rev.name, "mnt-models");
    try {
      if (!uri) throw new Error("spec.predictor.model.storageUri is required by this runtime");
      await initializeStorage(uri, dir, this.#d);
      // As MLServer does (MLSERVER_MODEL_VERSION); without it the runtime numbers its one model "1", like Triton.
      rev.runtime = await startRuntime({ modelName: nameOf(isvc), modelDir: dir, version: envOf(model, "MLSERVER_MODEL_VERSION") ?? "1" });
      const queue = new QueueProxy({ namespace: this.#d.namespace, service: `${nameOf(isvc)}-predictor`, revision: rev.name, target: rev.runtime.url });
      await queue.listen();
      rev.queue = queue;
      this.#d.onTargets?.();
    } catch (e) {
      rev.failure = e instanceof Error ? e.message : String(e);
    }
  }

  async #stopRevision(r: Revision): Promise<void> {
    const rt = r.runtime;
    const queue = r.queue;
    delete r.runtime;
    delete r.queue;
    if (queue) this.#d.onTargets?.();
    await queue?.close();
    await rt?.stop();
  }

  async #write(isvc: Obj, st: State, latest: Revision, phase: "progressing" | "ready" | "failed"): Promise<void> {
    const t = now();
    const url = st.front.url;
    const ok = phase === "ready";
    const conditions = READY_TYPES.map((type) => {
      if (ok) return { type, status: "True", lastTransitionTime: t };
      const mine = type === "PredictorReady" || type === "Ready" || type === "LatestDeploymentReady";
      if (phase === "failed" && mine) return { type, status: "False", reason: "RevisionFailed", message: `Revision "${latest.name}" failed with message: ${latest.failure ?? ""}.`, lastTransitionTime: t };
      return { type, status: mine ? "Unknown" : "True", ...(mine ? { reason: "RevisionMissing", message: `Configuration "${nameOf(isvc)}-predictor" is waiting for a Revision to become ready.` } : {}), lastTransitionTime: t };
    });
    const ready = st.revisions.filter((r) => r.runtime).at(-1);
    const status: Obj = {
      observedGeneration: num(metaOf(isvc).generation),
      deploymentMode: "Serverless",
      url,
      address: { url },
      conditions,
      components: {
        predictor: {
          url,
          address: { url },
          latestCreatedRevision: latest.name,
          ...(ready ? { latestReadyRevision: ready.name } : {}),
          latestRolledoutRevision: st.rollout.latestRolledoutRevision ?? null,
          previousRolledoutRevision: st.rollout.previousRolledoutRevision ?? null,
          traffic: st.route.map((t) => ({ ...t })),
        },
      },
      modelStatus: {
        transitionStatus: ok ? "UpToDate" : phase === "failed" ? "BlockedByFailedLoad" : "InProgress",
        states: { activeModelState: ok ? "Loaded" : phase === "failed" ? "FailedToLoad" : "Pending", targetModelState: ok ? "Loaded" : phase === "failed" ? "FailedToLoad" : "Loading" },
        copies: { failedCopies: phase === "failed" ? 1 : 0, totalCopies: ok ? 1 : 0 },
        ...(phase === "failed" ? { lastFailureInfo: { reason: "ModelLoadFailed", message: latest.failure ?? "", modelRevisionName: latest.name, time: t } } : {}),
      },
    };
    // Our own write comes back as a watch event: write only what changed, or the controller would loop.
    if (sameStatus(objAt(isvc, "status"), status)) return;
    await this.#d.http.patchStatus(KINDS.InferenceService, this.#d.namespace, nameOf(isvc), isvc, status);
  }

  async #teardown(name: string): Promise<void> {
    const st = this.#state.get(name);
    if (!st) return;
    this.#state.delete(name);
    for (const r of st.revisions) await this.#stopRevision(r);
    await st.front.close();
  }

  async close(): Promise<void> {
    for (const name of [...this.#state.keys()]) await this.#teardown(name);
  }
}

/** Equal but for timestamps (and fields a merge patch removes with null). */
export function sameStatus(current: Obj, next: Obj): boolean {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).filter(([k, x]) => x !== null && k !== "lastTransitionTime" && k !== "time" && k !== "lastUpdateTime").sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, norm(x)]));
    }
    return v;
  };
  return JSON.stringify(norm(current)) === JSON.stringify(norm(next));
}

/** A container env var's literal value from predictor.model.env (valueFrom is not resolved here). */
function envOf(container: Obj, name: string): string | undefined {
  const env = Array.isArray(container.env) ? container.env : [];
  for (const e of env) if (typeof e === "object" && e !== null && !Array.isArray(e) && e.name === name && typeof e.value === "string") return e.value;
  return undefined;
}
