// Cold start per function: process spawn -> first 2xx answer to a realistic first request (a CloudEvent, a V2 inference,
// a UI page), from the esbuild bundle, against a bare functions-framework hello in the same run; plus bundle sizes.
// Every function gets its real deps (deps.ts: PostgreSQL, fake MLflow, fake API server, a V2 server). Needs the Debian
// package `postgresql`. Run: npx tsx bench/coldstart/run.ts [--runs N]
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundle, HEAVY_MODULES, presentTargets, type BundleResult } from "../../platform/build/bundle.ts";
import { TARGETS, type FunctionTarget } from "../../platform/knative/targets.ts";
import { startBenchDeps } from "./deps.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RUNS = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 5;
const DEADLINE_MS = 20_000;
const TOKEN = "bench-token-0123456789abcdef";

interface Probe {
  readonly path?: string;
  readonly method: "GET" | "POST";
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const ping: Probe = {
  method: "POST",
  headers: { "content-type": "application/json", "ce-specversion": "1.0", "ce-id": "bench-1", "ce-source": "/bench", "ce-type": "dev.flywheel.bench.ping" },
  body: "{}",
};

/** Each target's realistic first request (default: a CloudEvent it acks): a resolved alert, a V2 inference, a page. */
const probes = (v2Body: string): Partial<Record<FunctionTarget, Probe>> => ({
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
 * ms from spawn to the first 2xx (undefined if none came before the deadline), and to the first HTTP answer of any
 * status: a function whose deps are missing answers 4xx/5xx, but that answer
 * still shows when its server was up.
 */
async function coldStart(argv: string[], env: NodeJS.ProcessEnv, probe: Probe): Promise<{ ms: number | undefined; firstMs: number | undefined; status: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { cwd: ROOT, env: { ...env, PORT: String(port) }, stdio: "ignore" });
  let status = 0;
  let firstMs: number | undefined;
  try {
    while (performance.now() - t0 < DEADLINE_MS && child.exitCode === null) {
      status = await request(port, probe);
      if (status !== 0) firstMs ??= performance.now() - t0;
      if (status >= 200 && status < 300) return { ms: performance.now() - t0, firstMs, status };
      if (status === 0) await new Promise((r) => setTimeout(r, 3));
      else break;
    }
    return { ms: undefined, firstMs, status };
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited.catch(() => undefined);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-coldstart-"));
  const deps = await startBenchDeps(ROOT, path.join(dataDir, "deps"), TOKEN);
  const PROBES = probes(deps.v2Body);
  const loadBefore = os.loadavg();
  const env: NodeJS.ProcessEnv = {
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

  const { present, missing } = presentTargets();
  for (const t of missing) console.log(`skip ${t}: ${TARGETS[t].module} does not exist yet`);
  const echo = { target: "echoTarget", name: "bench-echo", module: path.join(ROOT, "test/integration/telemetry/fixtures/echo-function.ts") };
  const results: BundleResult[] = [];
  for (const entry of [echo, ...present]) {
    try {
      results.push(...(await bundle([entry], path.join(ROOT, "dist"))));
    } catch (e) {
      // A function another engineer is still writing may not build yet: say so and measure the rest.
      console.log(`skip ${entry.target}: bundle failed (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
    }
  }

  const ffMain = path.join(ROOT, "node_modules/@google-cloud/functions-framework/build/src/main.js");
  const rows: { name: string; ms: number | undefined; firstMs: number | undefined; status: number; coldKiB: number; totalKiB: number; heavy: string[] }[] = [];
  const floorRuns: number[] = [];
  const runs = new Map<string, number[]>();
  const firsts = new Map<string, number[]>();
  const statuses = new Map<string, number>();
  // Interleave the floor with every function run so machine noise hits both alike.
  for (let i = 0; i < RUNS; i++) {
    const floor = await coldStart([ffMain, "--target=hello", `--source=${path.join(ROOT, "bench/coldstart/hello.mjs")}`, "--signature-type=cloudevent"], env, ping);
    if (floor.ms !== undefined) floorRuns.push(floor.ms);
    for (const r of results) {
      const probe = PROBES[r.target as FunctionTarget] ?? ping;
      const out = await coldStart([r.outFile], { ...env, FUNCTION_TARGET: r.target, K_SERVICE: r.name }, probe);
      statuses.set(r.name, out.status);
      if (out.ms !== undefined) runs.set(r.name, [...(runs.get(r.name) ?? []), out.ms]);
      if (out.firstMs !== undefined) firsts.set(r.name, [...(firsts.get(r.name) ?? []), out.firstMs]);
    }
  }
  const floorMs = median(floorRuns);
  for (const r of results) {
    const xs = runs.get(r.name) ?? [];
    rows.push({
      name: r.name,
      ms: xs.length ? median(xs) : undefined,
      firstMs: firsts.get(r.name)?.length ? median(firsts.get(r.name)!) : undefined,
      status: statuses.get(r.name) ?? 0,
      coldKiB: Math.round(r.coldBytes / 1024),
      totalKiB: Math.round(r.totalBytes / 1024),
      heavy: HEAVY_MODULES.filter((m) => r.packages.includes(m) || r.externals.includes(m)),
    });
  }
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ");
  console.log(`\nload average (1/5/15 min): ${load(loadBefore)} before, ${load(os.loadavg())} after, on ${os.cpus().length} cores`);
  console.log(`cold start, median of ${RUNS} (spawn -> first 2xx); floor = bare functions-framework hello: ${floorMs.toFixed(0)} ms`);
  console.log("function               first 2xx  x floor  first answer  cold KiB  total KiB  heavy modules");
  for (const r of rows) {
    const ms = r.ms === undefined ? `none (${r.status || "-"})` : `${r.ms.toFixed(0)} ms`;
    const ratio = r.ms === undefined ? "-" : (r.ms / floorMs).toFixed(2);
    const first = r.firstMs === undefined ? "-" : `${r.firstMs.toFixed(0)} ms`;
    console.log(
      `${r.name.padEnd(22)} ${ms.padStart(10)}  ${ratio.padStart(7)}  ${first.padStart(12)}  ${String(r.coldKiB).padStart(8)}  ${String(r.totalKiB).padStart(9)}  ${r.heavy.join(", ") || "-"}`,
    );
  }
  console.log(JSON.stringify({ bench: "coldstart", runs: RUNS, floorMs: Math.round(floorMs), functions: rows.map((r) => ({ ...r, ms: r.ms === undefined ? null : Math.round(r.ms), firstMs: r.firstMs === undefined ? null : Math.round(r.firstMs), ratio: r.ms === undefined ? null : Number((r.ms / floorMs).toFixed(2)) })), skipped: missing }));
  await deps.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
