// The pod network on one host: every pod shares 127.0.0.1, so each declared container port is NATed to a free host
// port, and a Service's DNS name resolves to 127.0.0.1 (cluster DNS). Env pairs <X>_ADDR=<service> / <X>_PORT=<port>
// (MASTER_ADDR/MASTER_PORT of the training operator) are translated together for the process; the Pod object keeps
// the values the controller wrote.
import { freePort } from "../../../../platform/server-process.ts";
import { arrAt, labelsOf, nameOf, num, objAt, str, type Obj } from "./kube-http.ts";

export interface ClusterView {
  services(ns: string): readonly Obj[];
  pods(ns: string): readonly Obj[];
}

export class PodNetwork {
  readonly #ports = new Map<string, Promise<number>>();

  /** The host port standing for <pod>:<containerPort> (allocated on first use, by whichever side asks first). */
  hostPort(ns: string, pod: string, containerPort: number): Promise<number> {
    const key = `${ns}/${pod}/${containerPort}`;
    let p = this.#ports.get(key);
    if (!p) {
      p = freePort();
      this.#ports.set(key, p);
    }
    return p;
  }

  release(ns: string, pod: string): void {
    for (const k of [...this.#ports.keys()]) if (k.startsWith(`${ns}/${pod}/`)) this.#ports.delete(k);
  }

  /** The Service a host name means in this namespace (svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local). */
  #service(view: ClusterView, ns: string, host: string): Obj | undefined {
    const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?$/.exec(host);
    if (!m || (m[2] && m[2] !== ns)) return undefined;
    return view.services(ns).find((s) => nameOf(s) === m[1]);
  }

  /** The pod behind a Service port, polled briefly (its controller may create the Service before the pod). */
  async #backend(view: ClusterView, ns: string, svc: Obj, port: number): Promise<number | undefined> {
    const sel = Object.entries(objAt(svc, "spec", "selector")).map(([k, v]) => [k, str(v)] as const);
    const sp = arrAt(svc, "spec", "ports").find((p) => num(p.port) === port);
    if (!sp || !sel.length) return undefined;
    const target = typeof sp.targetPort === "number" ? sp.targetPort : port;
    for (let i = 0; i < 50; i++) {
      const pod = view.pods(ns).find((p) => sel.every(([k, v]) => labelsOf(p)[k] === v));
      if (pod) return this.hostPort(ns, nameOf(pod), target);
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  /** The env a process sees: Service names -> 127.0.0.1, and the paired port -> the backend pod's host port. */
  async translate(view: ClusterView, pod: Obj, env: Record<string, string>): Promise<Record<string, string>> {
    const ns = str(objAt(pod, "metadata").namespace);
    const out = { ...env };
    for (const [k, v] of Object.entries(env)) {
      const m = /^(.*)_ADDR$/.exec(k);
      const svc = m ? this.#service(view, ns, v) : undefined;
      if (!m || !svc) continue;
      out[k] = "127.0.0.1";
      const portVar = `${m[1]}_PORT`;
      const port = Number(env[portVar]);
      if (!Number.isInteger(port)) continue;
      const host = await this.#backend(view, ns, svc, port);
      if (host !== undefined) out[portVar] = String(host);
    }
    return out;
  }
}
