// Seldon Core v2's Model reconcile, as the scheduler + agent do it for one replica: the storage initializer (rclone's
// role), a V2 runtime process per model generation, the seldon-mesh route by Seldon-Model header, and the Model's
// status (conditions ModelReady and Ready, replicas). A new generation replaces the old once it is loaded.
import path from "node:path";
import type { Informer } from "../informer.ts";
import { KINDS, metaOf, nameOf, now, num, objAt, str, type KubeHttp, type Obj } from "../kube-http.ts";
import { Front, startRuntime, type RuntimeProcess } from "./front.ts";
import { sameStatus } from "./kserve.ts";
import { initializeStorage, type StorageOptions } from "./storage.ts";

export interface SeldonDeps extends StorageOptions {
  readonly http: KubeHttp;
  readonly namespace: string;
  readonly models: Informer;
  readonly workDir: string;
}

interface Loaded {
  readonly generation: number;
  runtime?: RuntimeProcess;
  failure?: string;
}

export class SeldonController {
  readonly #d: SeldonDeps;
  readonly #loaded = new Map<string, Loaded>();
  readonly mesh: Front;

  constructor(d: SeldonDeps) {
    this.#d = d;
    // seldon-mesh: the model named by the Seldon-Model header (a pipeline/experiment suffix is not served here).
    this.mesh = new Front((req) => {
      const model = String(req.headers["seldon-model"] ?? "");
      return this.#loaded.get(model)?.runtime?.url;
    });
  }

  served(): { name: string; url: string }[] {
    return [...this.#loaded].flatMap(([name, l]) => (l.runtime ? [{ name, url: l.runtime.url }] : []));
  }

  async reconcile(name: string): Promise<void> {
    const model = this.#d.models.cache.get(name);
    const current = this.#loaded.get(name);
    if (!model || metaOf(model).deletionTimestamp) {
      this.#loaded.delete(name);
      await current?.runtime?.stop();
      return;
    }
    const generation = num(metaOf(model).generation);
    let loaded = current;
    if (!loaded || loaded.generation !== generation) {
      const next: Loaded = { generation };
      await this.#load(model, next);
      if (next.runtime || !current?.runtime) {
        this.#loaded.set(name, next);
        await current?.runtime?.stop();
        loaded = next;
      } else loaded = { ...current, failure: next.failure };
    }
    const t = now();
    const ok = !!loaded.runtime && !loaded.failure;
    const status: Obj = {
      observedGeneration: generation,
      replicas: ok ? 1 : 0,
      conditions: [
        { type: "ModelReady", status: ok ? "True" : "False", ...(ok ? { message: "ModelAvailable" } : { reason: "ModelFailed", message: loaded.failure ?? "" }), lastTransitionTime: t },
        { type: "Ready", status: ok ? "True" : "False", ...(ok ? {} : { reason: "ModelFailed", message: loaded.failure ?? "" }), lastTransitionTime: t },
      ],
    };
    if (sameStatus(objAt(model, "status"), status)) return;
    await this.#d.http.patchStatus(KINDS.Model, this.#d.namespace, name, model, status);
  }

  async #load(model: Obj, into: Loaded): Promise<void> {
    const uri = str(objAt(model, "spec").storageUri);
    const dir = path.join(this.#d.workDir, "seldon", this.#d.namespace, nameOf(model), String(into.generation));
    try {
      await initializeStorage(uri, dir, this.#d);
      into.runtime = await startRuntime({ modelName: nameOf(model), modelDir: dir, version: String(objAt(model, "spec").artifactVersion ?? "1") });
    } catch (e) {
      into.failure = e instanceof Error ? e.message : String(e);
    }
  }

  async close(): Promise<void> {
    const all = [...this.#loaded.values()];
    this.#loaded.clear();
    await Promise.all(all.map((l) => l.runtime?.stop()));
    await this.mesh.close();
  }
}
