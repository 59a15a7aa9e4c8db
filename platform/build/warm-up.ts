// The build's warm-up: runs each bundle once (start, a first request, drain) so it writes its V8 code cache with the
// functions a cold start compiles, not only the top level. Offline: nothing outside this machine is called.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheFileOf, WRITE_CACHE_ENV } from "../knative/code-cache.ts";
import { FUNCTION_TARGETS, TARGETS } from "../knative/targets.ts";
import { startWarmUpBackends, type WarmUpRequest } from "./warm-up-backends.ts";

const HANG_MS = 60_000;

export interface WarmUpResult {
  readonly cacheFile: string;
  readonly bytes: number;
  /** Whether the function came up and served (else the cache holds what it compiled before it stopped). */
  readonly served: boolean;
  /** The status of each warm-up request (0: no answer). */
  readonly statuses: readonly number[];
}

export interface WarmUpOptions {
  /** More environment for the function, over the stand-in backends' config. */
  readonly env?: Readonly<Record<string, string>>;
  /** The first requests (path, init), in order, instead of the function's own (warm-up-backends.ts). */
  readonly requests?: readonly WarmUpRequest[];
}

/**
 * Starts `indexFile` (a bundle's index.js) as FUNCTION_TARGET `target` in Knative mode against stand-in backends on
 * 127.0.0.1 (warm-up-backends.ts: nothing real is contacted) and a temp data dir, sends the function's first requests
 * (its own, then GET / and a CloudEvent), then SIGTERM: the process writes the cache as it exits.
 * `nodeArgs` must be the V8 flags production runs with, or V8 rejects the cache.
 */
export async function warmUp(indexFile: string, target: string, nodeArgs: readonly string[] = [], opts: WarmUpOptions = {}): Promise<WarmUpResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-warm-up-"));
  const cacheFile = cacheFileOf(path.join(path.dirname(indexFile), "function.cjs"));
  fs.rmSync(cacheFile, { force: true });
  const backends = await startWarmUpBackends(dataDir).catch((e: unknown) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw e;
  });
  const child = spawn(process.execPath, [...nodeArgs, indexFile], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: "0",
      FUNCTION_TARGET: target,
      FLYWHEEL_DATA_DIR: dataDir,
      FLYWHEEL_LOG_LEVEL: "info",
      [WRITE_CACHE_ENV]: "1",
      ...backends.env,
      ...opts.env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const hang = setTimeout(() => child.kill("SIGKILL"), HANG_MS);
  try {
    const port = await new Promise<number | undefined>((resolve) => {
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        // FLYWHEEL_WARM_UP_LOG=1: the function's own log, to see why a warm-up request failed.
        if (process.env.FLYWHEEL_WARM_UP_LOG === "1") process.stderr.write(d);
        const m = /"msg":"listening".*?"port":(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      void exited.then(() => resolve(undefined));
    });
    const statuses: number[] = [];
    if (port !== undefined) {
      const base = `http://127.0.0.1:${port}/`;
      // The answers do not matter (some fail on the stand-ins' empty answers): the code that produced them is compiled now.
      const requests = opts.requests ?? backends.requests(target);
      for (const [p, init] of requests) statuses.push(await fetch(new URL(p, base), init).then(async (r) => (await r.arrayBuffer(), r.status)).catch(() => 0));
      child.kill("SIGTERM");
    }
    await exited;
    if (!fs.existsSync(cacheFile)) throw new Error(`warm-up of ${target} wrote no code cache (${cacheFile})`);
    return { cacheFile, bytes: fs.statSync(cacheFile).size, served: port !== undefined, statuses };
  } finally {
    clearTimeout(hang);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await backends.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * dist/warm-up.js (bundleLauncher writes it): warms every function folder beside it again. The image runs it with the
 * runtime stage's own node, since a cache from the build stage's Node would be rejected if its V8 differs.
 */
async function cli(): Promise<void> {
  const dist = path.dirname(fileURLToPath(import.meta.url));
  for (const t of FUNCTION_TARGETS) {
    const index = path.join(dist, TARGETS[t].service, "index.js");
    if (!fs.existsSync(index)) continue;
    const r = await warmUp(index, t, process.argv.slice(2));
    process.stdout.write(`${TARGETS[t].service}: code cache ${(r.bytes / 1024).toFixed(0)} KiB${r.served ? ` (warm-up ${r.statuses.join(" ")})` : " (did not serve)"}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
