// What a container needs before it starts, as the kubelet prepares it: volumes as host directories, the env list
// resolved (valueFrom secrets/configMaps/fieldRefs, envFrom), and the argv with container paths mapped to the host.
import fs from "node:fs";
import path from "node:path";
import { arrAt, isObj, KINDS, nameOf, nsOf, objAt, str, type KubeHttp, type Obj } from "./kube-http.ts";

/** A container that cannot be created: the kubelet reports it as a waiting reason (e.g. CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  constructor(
    readonly reason: "CreateContainerConfigError" | "CreateContainerError" | "Unschedulable",
    message: string,
  ) {
    super(message);
    this.name = "ContainerConfigError";
  }
}

export interface Mount {
  readonly mountPath: string;
  readonly hostPath: string;
}

export interface PreparedContainer {
  readonly name: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly mounts: readonly Mount[];
}

export interface PrepareOptions {
  readonly http: KubeHttp;
  readonly workDir: string;
  readonly imageDir: string;
  /** The image's WORKDIR (the Dockerfile's /app): paths under it are the image's files, found under imageDir. */
  readonly imageWorkdir: string;
  readonly pvcDir: (claim: string) => string;
  readonly serviceUrls: Readonly<Record<string, string>>;
}

const decode = (v: unknown): string => Buffer.from(str(v), "base64").toString("utf8");

async function readData(o: PrepareOptions, kind: "Secret" | "ConfigMap", ns: string, name: string): Promise<Record<string, string> | undefined> {
  const obj = await o.http.find(KINDS[kind], ns, name);
  if (!obj) return undefined;
  const out: Record<string, string> = {};
  if (kind === "Secret") {
    for (const [k, v] of Object.entries(objAt(obj, "data"))) out[k] = decode(v);
    for (const [k, v] of Object.entries(objAt(obj, "stringData"))) out[k] = str(v);
  } else for (const [k, v] of Object.entries(objAt(obj, "data"))) out[k] = str(v);
  return out;
}

/** Volumes -> host directories (PVC: shared dir of the claim; emptyDir: per pod; secret/configMap: files written). */
async function volumes(o: PrepareOptions, pod: Obj): Promise<Map<string, string>> {
  const ns = nsOf(pod);
  const podDir = path.join(o.workDir, "pods", ns, nameOf(pod));
  const out = new Map<string, string>();
  for (const v of arrAt(pod, "spec", "volumes")) {
    const name = str(v.name);
    if (isObj(v.persistentVolumeClaim)) {
      const claim = str(v.persistentVolumeClaim.claimName);
      // The scheduler leaves a pod whose claim does not exist unscheduled.
      if (!(await o.http.find(KINDS.PersistentVolumeClaim, ns, claim))) {
        throw new ContainerConfigError("Unschedulable", `0/1 nodes are available: persistentvolumeclaim "${claim}" not found.`);
      }
      out.set(name, o.pvcDir(claim));
    } else if (isObj(v.emptyDir)) out.set(name, path.join(podDir, "volumes", name));
    else if (isObj(v.secret) || isObj(v.configMap)) {
      const secret = isObj(v.secret);
      const src = secret ? objAt(v, "secret") : objAt(v, "configMap");
      const ref = secret ? str(src.secretName) : str(src.name);
      const data = await readData(o, secret ? "Secret" : "ConfigMap", ns, ref);
      if (!data && src.optional !== true) {
        throw new ContainerConfigError("CreateContainerConfigError", `${secret ? "secret" : "configmap"} "${ref}" not found`);
      }
      const dir = path.join(podDir, "volumes", name);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const items = arrAt(src, "items");
      const files = items.length ? items.map((i) => [str(i.key), str(i.path)] as const) : Object.keys(data ?? {}).map((k) => [k, k] as const);
      for (const [key, file] of files) if (data?.[key] !== undefined) fs.writeFileSync(path.join(dir, file), data[key], { mode: 0o600 });
      out.set(name, dir);
    } else {
      throw new ContainerConfigError("CreateContainerConfigError", `volume ${name}: only persistentVolumeClaim, emptyDir, secret and configMap volumes are emulated`);
    }
  }
  for (const dir of out.values()) fs.mkdirSync(dir, { recursive: true });
  return out;
}

async function resolveEnv(o: PrepareOptions, pod: Obj, c: Obj): Promise<Record<string, string>> {
  const ns = nsOf(pod);
  const env: Record<string, string> = {};
  for (const from of arrAt(c, "envFrom")) {
    const secret = isObj(from.secretRef);
    const ref = secret ? objAt(from, "secretRef") : objAt(from, "configMapRef");
    const data = await readData(o, secret ? "Secret" : "ConfigMap", ns, str(ref.name));
    if (!data && ref.optional !== true) throw new ContainerConfigError("CreateContainerConfigError", `${secret ? "secret" : "configmap"} "${str(ref.name)}" not found`);
    for (const [k, v] of Object.entries(data ?? {})) env[str(from.prefix) + k] = v;
  }
  // Later entries win, as in the API (the training operator appends its variables after the template's).
  for (const e of arrAt(c, "env")) {
    const name = str(e.name);
    if (!isObj(e.valueFrom)) {
      env[name] = expand(str(e.value), env);
      continue;
    }
    const vf = e.valueFrom;
    if (isObj(vf.secretKeyRef) || isObj(vf.configMapKeyRef)) {
      const secret = isObj(vf.secretKeyRef);
      const ref = secret ? objAt(vf, "secretKeyRef") : objAt(vf, "configMapKeyRef");
      const data = await readData(o, secret ? "Secret" : "ConfigMap", ns, str(ref.name));
      const value = data?.[str(ref.key)];
      if (value === undefined) {
        if (ref.optional === true) continue;
        const what = data ? `couldn't find key ${str(ref.key)} in ${secret ? "Secret" : "ConfigMap"} ${ns}/${str(ref.name)}` : `${secret ? "secret" : "configmap"} "${str(ref.name)}" not found`;
        throw new ContainerConfigError("CreateContainerConfigError", what);
      }
      env[name] = value;
    } else if (isObj(vf.fieldRef)) {
      const field = str(vf.fieldRef.fieldPath);
      const values: Record<string, string> = { "metadata.name": nameOf(pod), "metadata.namespace": ns, "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1", "spec.nodeName": "process-kubelet" };
      env[name] = values[field] ?? "";
    }
  }
  return env;
}

/** $(VAR) references to earlier variables, as the kubelet expands them in env values, command and args. */
const expand = (s: string, env: Record<string, string>): string => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);

/** Replace container paths (mount points) and cluster URLs with their host stand-ins; longest prefix first. */
export function mapper(mounts: readonly Mount[], serviceUrls: Readonly<Record<string, string>>): (s: string) => string {
  const pairs: [string, string][] = [...mounts.map((m) => [m.mountPath, m.hostPath] as [string, string]), ...Object.entries(serviceUrls)].sort((a, b) => b[0].length - a[0].length);
  return (s) => {
    for (const [from, to] of pairs) {
      if (s === from) return to;
      // A path under the mount (or a URL under the service), also inside a --flag=value argument.
      const at = s.indexOf(from.endsWith("/") ? from : `${from}/`);
      if (at >= 0 && (at === 0 || s[at - 1] === "=")) return s.slice(0, at) + to + s.slice(at + from.length);
    }
    return s;
  };
}

export async function prepareContainer(o: PrepareOptions, pod: Obj, c: Obj): Promise<PreparedContainer> {
  const vols = await volumes(o, pod);
  const mounts: Mount[] = arrAt(c, "volumeMounts").map((m) => {
    const host = vols.get(str(m.name));
    if (!host) throw new ContainerConfigError("CreateContainerConfigError", `volumeMount ${str(m.name)}: no such volume`);
    return { mountPath: str(m.mountPath).replace(/\/+$/, ""), hostPath: str(m.subPath) ? path.join(host, str(m.subPath)) : host };
  });
  const env = await resolveEnv(o, pod, c);
  const command = Array.isArray(c.command) ? c.command.map(str) : [];
  const args = Array.isArray(c.args) ? c.args.map(str) : [];
  if (!command.length) {
    throw new ContainerConfigError("CreateContainerError", `container ${str(c.name)} has no command: the process kubelet ignores images, so it cannot run an image's entrypoint`);
  }
  // The image's own files stand under imageDir; a volume mounted over part of it wins (longer prefix).
  const map = mapper([...mounts, { mountPath: o.imageWorkdir, hostPath: o.imageDir }], o.serviceUrls);
  const hostEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, map(v)]));
  const argv = [...command, ...args].map((a) => map(expand(a, env)));
  const wd = str(c.workingDir);
  const cwd = wd ? map(wd) : o.imageDir;
  if (!fs.existsSync(cwd)) throw new ContainerConfigError("CreateContainerError", `workingDir ${wd}: no host directory stands for it`);
  return { name: str(c.name), argv, cwd, env: hostEnv, mounts };
}
