// One Knative Service here: N replica processes of the production bundle (`node dist/main.js`, FUNCTION_TARGET) behind
// a round-robin front that plays the activator: it holds requests while the function is scaled to zero, starts the
// replicas again and measures that cold start.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export interface ReplicaSpec {
  /** Knative Service name. */
  readonly name: string;
  readonly mainJs: string;
  /** cwd of the process (the image's WORKDIR stand-in). */
  readonly cwd: string;
  /** The container env, already mapped to local addresses; FLYWHEEL_DATA_DIR etc. under an emptyDir are rewritten per replica. */
  readonly env: Readonly<Record<string, string>>;
  /** emptyDir mount paths: values under them point into the replica's own directory instead. */
  readonly emptyDirMounts: readonly string[];
  /** Variables the harness adds as Kubernetes would (KUBECONFIG for the mounted token), not rewritten. */
  readonly harnessEnv?: Readonly<Record<string, string>>;
  readonly sharedMounts?: readonly SharedMount[];
  readonly workDir: string;
  readonly replicas: number;
  /** Called whenever the set of live replica addresses changes (Prometheus file_sd). */
  readonly onTargets: () => void;
  /** Where each replica's stdout/stderr goes (a file per replica). */
  readonly logDir: string;
}

/** A volume every replica shares (a PVC): env values under mountPath point into hostDir. */
export interface SharedMount {
  readonly mountPath: string;
  readonly hostDir: string;
}

export interface Replica {
  readonly index: number;
  readonly url: string;
  readonly child: ChildProcess;
  readonly startedMs: number;
}

export interface ColdStart {
  readonly fn: string;
  /** From the first held request to every replica listening. */
  readonly ms: number;
  readonly at: number;
}

const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

export class FunctionFront {
  readonly name: string;
  url = "";
  readonly coldStarts: ColdStart[] = [];
  /** Requests the front forwarded, per replica index (round-robin proof). */
  readonly served = new Map<number, number>();
  #replicas: (Replica | undefined)[] = [];
  #server: http.Server | undefined;
  #next = 0;
  #scaledToZero = false;
  #starting: Promise<void> | undefined;
  #restartSeq = 0;
  #spec: ReplicaSpec;

  constructor(spec: ReplicaSpec) {
    this.#spec = spec;
    this.name = spec.name;
  }

  /** The container env (mapped) and emptyDir mounts, known once every address is (fronts listen first). */
  configure(env: Readonly<Record<string, string>>, emptyDirMounts: readonly string[], harnessEnv: Readonly<Record<string, string>> = {}, sharedMounts: readonly SharedMount[] = []): void {
    this.#spec = { ...this.#spec, env, emptyDirMounts, harnessEnv, sharedMounts };
  }

  get replicaCount(): number {
    return this.#spec.replicas;
  }

  /** Listen on a free port (the front's URL is stable for the whole run); start the replicas. */
  async listen(): Promise<void> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    // Longer than clients' idle keep-alive (undici: 4 s), so a client never reuses a socket the front just closed
    // (that was an ECONNRESET in the tests, not a property of Knative's activator).
    this.#server.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => this.#server?.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async start(): Promise<number> {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: this.#spec.replicas }, (_, i) => this.#startReplica(i)));
    this.#scaledToZero = false;
    this.#spec.onTargets();
    return performance.now() - t0;
  }

  get replicas(): readonly Replica[] {
    return this.#replicas.filter((r): r is Replica => r !== undefined && alive(r.child));
  }

  /** Signal one replica. A killed replica stays down (as a crashed pod before its restart) until `restart(i)`. */
  async kill(index: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const r = this.#replicas[index];
    if (!r || !alive(r.child)) return;
    const exited = new Promise((res) => r.child.once("exit", res));
    r.child.kill(signal);
    await exited;
    this.#spec.onTargets();
  }

  /** Start replica `index` again (a new process, new port), as Kubernetes restarts a crashed container. */
  async restart(index: number): Promise<void> {
    await this.#startReplica(index);
    this.#spec.onTargets();
  }

  /** Scale to zero: stop every replica (SIGTERM, graceful drain). The next request starts them again (cold start). */
  async scaleToZero(): Promise<void> {
    this.#scaledToZero = true;
    await Promise.all(this.#replicas.map(async (r, i) => (r ? this.kill(i, "SIGTERM") : undefined)));
  }

  get isScaledToZero(): boolean {
    return this.#scaledToZero;
  }

  async close(): Promise<void> {
    await Promise.all(this.#replicas.map(async (r, i) => (r ? this.kill(i, "SIGTERM") : undefined)));
    if (this.#server) {
      this.#server.closeAllConnections();
      await new Promise<void>((r) => this.#server?.close(() => r()));
    }
  }

  async #startReplica(index: number): Promise<void> {
    const s = this.#spec;
    const seq = this.#restartSeq++;
    const dir = path.join(s.workDir, `${s.name}-${index}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {};
    const under = (v: string, m: string): boolean => v === m || v.startsWith(`${m}/`);
    for (const [k, v] of Object.entries(s.env)) {
      const shared = (s.sharedMounts ?? []).find((m) => under(v, m.mountPath));
      const mount = s.emptyDirMounts.find((m) => under(v, m));
      env[k] = shared ? path.join(shared.hostDir, v.slice(shared.mountPath.length)) : mount ? path.join(dir, path.basename(mount), v.slice(mount.length)) : v;
    }
    for (const m of s.emptyDirMounts) fs.mkdirSync(path.join(dir, path.basename(m)), { recursive: true });
    const log = fs.openSync(path.join(s.logDir, `${s.name}-${index}.${seq}.log`), "a");
    const child = spawn(process.execPath, [s.mainJs], {
      cwd: s.cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dir,
        TMPDIR: path.join(dir, "tmp"),
        NODE_ENV: "production",
        ...env,
        ...s.harnessEnv,
        // What Knative injects; PORT=0 because many replicas share one host.
        PORT: "0",
        HOST: "127.0.0.1",
        K_SERVICE: s.name,
        K_CONFIGURATION: s.name,
        K_REVISION: `${s.name}-00001`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // On "close", not "exit": output still buffered in the pipes arrives after "exit", and a write to the closed fd
    // throws EBADF (or would hit whatever file reused the number). Also closes the log of a child that never listened.
    child.once("close", () => fs.closeSync(log));
    const startedMs = performance.now();
    let out = "";
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        fs.writeSync(log, d);
        if (out.length < 100_000) out += d.toString();
        const m = /"msg":"listening".*?"port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code, sig) => reject(new Error(`${s.name}-${index} exited ${code ?? sig} before listening: ${out.slice(-3000)}`)));
    });
    // Keep writing the log after start; the pipes must be drained or the child blocks.
    const keep = (d: Buffer): void => void fs.writeSync(log, d);
    child.stdout?.removeAllListeners("data").on("data", keep);
    child.stderr?.removeAllListeners("data").on("data", keep);
    this.#replicas[index] = { index, url: `http://127.0.0.1:${port}`, child, startedMs };
  }

  /** Cold start: all replicas down because of scaleToZero; one start for all requests that arrive meanwhile. */
  async #ensureUp(): Promise<void> {
    if (this.replicas.length > 0) return;
    if (!this.#scaledToZero) return;
    this.#starting ??= (async () => {
      const t0 = performance.now();
      await this.start();
      this.coldStarts.push({ fn: this.name, ms: performance.now() - t0, at: Date.now() });
    })().finally(() => (this.#starting = undefined));
    await this.#starting;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      await this.#ensureUp();
    } catch (e) {
      res.writeHead(503, { "content-type": "text/plain" }).end(`cold start of ${this.name} failed: ${String(e)}`);
      return;
    }
    const live = this.replicas;
    // No live replica and not scaled to zero (every replica killed): 503, as Knative answers while no pod is ready.
    const target = live[this.#next++ % Math.max(1, live.length)];
    if (!target) return void res.writeHead(503, { "content-type": "text/plain" }).end(`no ready replica of ${this.name}`);
    this.served.set(target.index, (this.served.get(target.index) ?? 0) + 1);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection") headers[k] = v;
    const up = http.request(`${target.url}${req.url ?? "/"}`, { method: req.method, headers }, (r) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && k !== "connection" && k !== "transfer-encoding") out[k] = v;
      res.writeHead(r.statusCode ?? 502, out);
      r.pipe(res);
    });
    // A replica that dies mid-request: the caller sees a 502, as through Knative's queue-proxy.
    up.on("error", () => (res.headersSent ? res.destroy() : res.writeHead(502, { "content-type": "text/plain" }).end(`replica ${target.index} of ${this.name} failed`)));
    up.end(Buffer.concat(chunks));
  }
}
