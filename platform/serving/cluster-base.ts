// Shared behaviour of the cluster backends (Seldon, KServe): render -> server-side apply -> wait for Ready, status
// read back from the objects (spec, revision and warnings ride in annotations), clean removal.
import { NotFoundError, UpstreamError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ApplyContext, DeploymentStatus, InferenceTarget, ServingBackend } from "../ports.ts";
import { DeploymentSpecSchema, type DeploymentSpec, type ServingBackendName } from "../specs/deployment.ts";
import { conditionsOf, MANAGED_BY, type KubeObj, type ServingKubeClient } from "./kube.ts";
import { validateDeployment } from "./validate.ts";

export const ANNOTATION = {
  revision: "flywheel.dev/revision",
  spec: "flywheel.dev/spec",
  warnings: "flywheel.dev/warnings",
  model: "flywheel.dev/model",
  version: "flywheel.dev/version",
} as const;

export interface ClusterBackendOptions {
  readonly client: ServingKubeClient;
  /** How long apply() waits for Ready (default 5 min). */
  readonly readyTimeoutMs?: number | undefined;
  readonly pollMs?: number | undefined;
  readonly log?: Logger | undefined;
  readonly now?: (() => number) | undefined;
}

export interface KindRef {
  readonly apiVersion: string;
  readonly kind: string;
}

/** Object metadata every rendered object carries. */
export function objectMeta(spec: DeploymentSpec, ctx: ApplyContext, namespace: string, warnings: readonly string[], extra: Record<string, string> = {}): Record<string, unknown> {
  return {
    name: spec.name,
    namespace,
    labels: { ...MANAGED_BY, "flywheel.dev/deployment": spec.name, "flywheel.dev/kind": spec.kind },
    annotations: {
      [ANNOTATION.revision]: ctx.revision,
      [ANNOTATION.spec]: JSON.stringify(spec),
      ...(warnings.length ? { [ANNOTATION.warnings]: JSON.stringify(warnings) } : {}),
      ...extra,
    },
  };
}

export abstract class ClusterServingBackend implements ServingBackend {
  abstract readonly name: ServingBackendName;
  protected readonly client: ServingKubeClient;
  readonly #opts: ClusterBackendOptions;

  constructor(opts: ClusterBackendOptions) {
    this.#opts = opts;
    this.client = opts.client;
  }

  /** The kinds this backend renders, to find a deployment by name. */
  protected abstract kinds(): readonly KindRef[];
  abstract render(spec: DeploymentSpec, ctx: ApplyContext): Record<string, unknown>[];
  abstract target(name: string): Promise<InferenceTarget>;
  /** Extra checks before anything is applied (e.g. what a backend cannot express). Throws ValidationError. */
  protected abstract check(spec: DeploymentSpec): Promise<void>;

  async apply(spec: DeploymentSpec, ctx: ApplyContext): Promise<DeploymentStatus> {
    const known = new Map((await this.list()).map((d) => [d.name, d.kind]));
    validateDeployment(spec, (n) => (n === spec.name ? undefined : known.get(n)));
    await this.check(spec);
    const objects = this.render(spec, ctx);
    const existing = await this.get(spec.name);
    if (existing && existing.revision === ctx.revision && existing.state === "ready") return existing;
    // A deployment that changes kind (model -> experiment) leaves an object of the old kind behind: remove it after.
    const stale = existing && existing.kind !== spec.kind ? await this.#find(spec.name) : undefined;
    for (const obj of objects) await this.client.apply(obj);
    const main = objects[objects.length - 1];
    const status = await this.waitReady(String(main?.apiVersion), String(main?.kind), spec.name);
    if (stale && (stale.apiVersion !== main?.apiVersion || stale.kind !== main?.kind)) {
      await this.client.delete(stale.apiVersion ?? "", stale.kind ?? "", spec.name);
    }
    return status;
  }

  protected async waitReady(apiVersion: string, kind: string, name: string): Promise<DeploymentStatus> {
    const deadline = (this.#opts.now ?? Date.now)() + (this.#opts.readyTimeoutMs ?? 300_000);
    for (;;) {
      const obj = await this.client.read(apiVersion, kind, name);
      if (!obj) throw new UpstreamError(`${kind} ${name} disappeared while waiting for Ready`, false);
      const status = this.statusOf(obj);
      if (status.state === "ready") return status;
      if ((this.#opts.now ?? Date.now)() >= deadline) {
        const ready = status.conditions.find((c) => c.type === "Ready");
        const message = `${kind} ${name} not Ready after ${Math.round((this.#opts.readyTimeoutMs ?? 300_000) / 1000)} s${ready?.message ? `: ${ready.message}` : ""}`;
        return { ...status, state: "failed", reason: ready?.reason ?? "ReadyTimeout", message };
      }
      await new Promise((r) => setTimeout(r, this.#opts.pollMs ?? 2000));
    }
  }

  /** Status from an object: Ready condition, annotations, and the endpoint from status.url/address when present. */
  protected statusOf(obj: KubeObj): DeploymentStatus {
    const ann = obj.metadata?.annotations ?? {};
    const parsed = DeploymentSpecSchema.safeParse(safeJson(ann[ANNOTATION.spec]));
    const conditions = conditionsOf(obj);
    const ready = conditions.find((c) => c.type === "Ready");
    const warnings = safeJson(ann[ANNOTATION.warnings]);
    const url = obj.status?.url;
    const spec: DeploymentSpec = parsed.success ? parsed.data : { kind: "model", name: obj.metadata?.name ?? "", model: obj.metadata?.name ?? "" };
    return {
      name: obj.metadata?.name ?? "",
      kind: spec.kind,
      backend: this.name,
      ...(ann[ANNOTATION.model] ? { model: ann[ANNOTATION.model] } : {}),
      ...(ann[ANNOTATION.version] ? { version: ann[ANNOTATION.version] } : {}),
      revision: ann[ANNOTATION.revision] ?? "",
      ...(typeof url === "string" ? { endpoint: url } : {}),
      ...(ready?.status === "False" && ready.reason ? { reason: ready.reason } : {}),
      ...(ready?.status === "False" && ready.message ? { message: ready.message } : {}),
      warnings: Array.isArray(warnings) ? warnings.map(String) : [],
      // Ready of an older generation says nothing about what was just applied.
      state: ready?.status === "True" && observedCurrent(obj) ? "ready" : "progressing",
      conditions,
      spec,
      updatedAt: (this.#opts.now ?? Date.now)(),
    };
  }

  async #find(name: string): Promise<KubeObj | undefined> {
    for (const k of this.kinds()) {
      const obj = await this.client.read(k.apiVersion, k.kind, name);
      if (obj && obj.metadata?.labels?.["app.kubernetes.io/managed-by"] === "flywheel") return { ...obj, apiVersion: k.apiVersion, kind: k.kind };
    }
    return undefined;
  }

  async get(name: string): Promise<DeploymentStatus | undefined> {
    const obj = await this.#find(name);
    return obj ? this.statusOf(obj) : undefined;
  }

  async list(): Promise<DeploymentStatus[]> {
    const all = await Promise.all(this.kinds().map((k) => this.client.list(k.apiVersion, k.kind, "app.kubernetes.io/managed-by=flywheel")));
    return all.flat().map((o) => this.statusOf(o)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Delete and wait until the object is gone (foreground propagation). Absent = nothing to do. */
  async remove(name: string): Promise<void> {
    const obj = await this.#find(name);
    if (!obj) return;
    await this.client.delete(obj.apiVersion ?? "", obj.kind ?? "", name);
    const deadline = (this.#opts.now ?? Date.now)() + (this.#opts.readyTimeoutMs ?? 300_000);
    while (await this.client.read(obj.apiVersion ?? "", obj.kind ?? "", name)) {
      if ((this.#opts.now ?? Date.now)() >= deadline) throw new UpstreamError(`${obj.kind} ${name} still present after delete`, true);
      await new Promise((r) => setTimeout(r, this.#opts.pollMs ?? 2000));
    }
  }

  protected async requireDeployed(name: string): Promise<DeploymentStatus> {
    const st = await this.get(name);
    if (!st) {
      const deployed = (await this.list()).map((d) => d.name);
      throw new NotFoundError(`deployment ${name} not found; deployed: ${deployed.length ? deployed.join(", ") : "(none)"}`);
    }
    return st;
  }
}

function observedCurrent(obj: KubeObj): boolean {
  const observed = obj.status?.observedGeneration;
  const generation = obj.metadata?.generation;
  return typeof observed !== "number" || typeof generation !== "number" || observed >= generation;
}

function safeJson(raw: string | undefined): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
