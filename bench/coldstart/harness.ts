// What bench/coldstart's runs and its profiler share: each target's realistic first request, the process environment
// the bench gives every function, and one cold start (spawn -> first 2xx, wall and CPU time).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import type { FunctionTarget } from "../../platform/knative/targets.ts";
import type { BenchDeps } from "./deps.ts";

const DEADLINE_MS = 20_000;
export const TOKEN = "bench-token-0123456789abcdef";

export interface Probe {
  readonly path?: string;
  readonly method: "GET" | "POST";
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export const ping: Probe = {
  method: "POST",
  headers: { "content-type": "application/json", "ce-specversion": "1.0", "ce-id": "bench-1", "ce-source": "/bench", "ce-type": "dev.flywheel.bench.ping" },
  body: "{}",
};

/** Each target's realistic first request (default: a CloudEvent it acks): a resolved alert, a V2 inference, a page. */
export const probes = (v2Body: string): Partial<Record<FunctionTarget, Probe>> => ({
  alertmanagerTrigger: {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ version: "4", groupKey: "g", truncatedAlerts: 0, status: "resolved", receiver: "flywheel", groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: "http://am", alerts: [] }),
  },
  // A raw V2 request through infer to the stand-in InferenceService: resolves it in the (fake) cluster, calls the V2 server.
  infer: { path: "/iris", method: "POST", headers: { "content-type": "application/json" }, body: v2Body },
  // The home page, signed in: it reads the registry (MLflow) and the state store (PostgreSQL).
  ui: { path: "/", method: "GET", headers: { authorization: `Bearer ${TOKEN}` } },
});

export interface Sample {
  readonly ms: number | undefined;
  readonly cpuMs: number | undefined;
  readonly firstMs: number | undefined;
  readonly status: number;
  ratio?: number;
  cpuRatio?: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function request(port: number, probe: Probe): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: probe.path ?? "/", method: probe.method, headers: probe.headers, timeout: 2_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end(probe.body);
  });
}

/**
 * CPU time (ms) the process has used so far, all its threads (main, libuv pool, V8 helpers): the sum of each task's
 * on-CPU nanoseconds in /proc/<pid>/task/<tid>/schedstat. Less noisy on a shared machine than wall time, which also
 * counts the time the process waited for a core. undefined where /proc has no schedstat (not Linux).
 */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * ms from spawn to the first 2xx (undefined if none came before the deadline), and to the first HTTP answer of any
 * status: a function whose deps are missing answers 4xx/5xx, but that answer
 * still shows when its server was up.
 */
export async function coldStart(argv: string[], env: NodeJS.ProcessEnv, probe: Probe, opts: { readonly cwd?: string; readonly stop?: "SIGKILL" | "SIGTERM" } = {}): Promise<Sample> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { cwd: opts.cwd, env: { ...env, PORT: String(port) }, stdio: "ignore" });
  let status = 0;
  let firstMs: number | undefined;
  try {
    while (performance.now() - t0 < DEADLINE_MS && child.exitCode === null) {
      status = await request(port, probe);
      if (status !== 0) firstMs ??= performance.now() - t0;
      if (status >= 200 && status < 300) return { ms: performance.now() - t0, cpuMs: cpuMs(child.pid), firstMs, status };
      if (status === 0) await new Promise((r) => setTimeout(r, 3));
      else break;
    }
    return { ms: undefined, cpuMs: undefined, firstMs, status };
  } finally {
    // A child that already exited (a start-up error) emits no second "exit": only a live one is awaited.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      // SIGTERM lets the function drain and exit by itself (a --cpu-prof profile is written on exit).
      child.kill(opts.stop ?? "SIGKILL");
      await exited;
    }
  }
}


/** The environment every function gets: Knative mode (cluster backends) against the bench's deps, logs off. */
export function benchEnv(dataDir: string, deps: BenchDeps): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    FLYWHEEL_DATA_DIR: dataDir,
    FLYWHEEL_ALERTMANAGER_TOKEN: TOKEN,
    ...deps.env,
    // Knative mode: the cluster backends, against the fake API server.
    FLYWHEEL_SERVING_BACKEND: "kserve",
    FLYWHEEL_TRAINING_BACKEND: "kubernetes",
    FLYWHEEL_LOG_LEVEL: "silent",
  };
}
