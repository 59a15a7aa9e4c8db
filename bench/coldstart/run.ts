// Cold start per function: process spawn -> first 2xx answer to a realistic first request (a CloudEvent, a V2 inference,
// a UI page), from the esbuild bundle run as the image runs it (node dist/main.js with FUNCTION_TARGET: the CommonJS bundle
// through its V8 code cache, written by the build's warm-up), against a bare functions-framework hello in the same run.
// Every function gets its real deps (deps.ts: PostgreSQL, fake MLflow, fake API server, a V2 server). Needs the Debian
// package `postgresql`. Run: npx tsx bench/coldstart/run.ts [--runs N] [--baseline DIR] [--only NAME,NAME (a target or a
// service name: logModel or log-model; the echo fixture is bench-echo)]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundle, bundleLauncher, HEAVY_MODULES, presentTargets, type BundleResult } from "../../platform/build/bundle.ts";
import { TARGETS, type FunctionTarget } from "../../platform/knative/targets.ts";
import { startBenchDeps } from "./deps.ts";
import { benchEnv, coldStart, ping, probes, TOKEN, type Sample } from "./harness.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RUNS = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 5;
const ONLY = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1]?.split(",") : undefined;
interface Subject {
  readonly label: string;
  readonly target: string;
  /** What the image runs: `node dist/main.js` with FUNCTION_TARGET (the echo fixture, not a target: its index.js). */
  readonly argv: string[];
  /** This build's bundle (sizes, modules); absent for a --baseline bundle. */
  readonly result?: BundleResult;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-coldstart-"));
  const deps = await startBenchDeps(ROOT, path.join(dataDir, "deps"), TOKEN);
  const PROBES = probes(deps.v2Body);
  const loadBefore = os.loadavg();
  const env = benchEnv(dataDir, deps);

  const { present, missing } = presentTargets();
  for (const t of missing) console.log(`skip ${t}: ${TARGETS[t].module} does not exist yet`);
  const echo = { target: "echoTarget", name: "bench-echo", module: path.join(ROOT, "test/integration/telemetry/fixtures/echo-function.ts") };
  const results: BundleResult[] = [];
  const mainJs = await bundleLauncher(path.join(ROOT, "dist"));
  for (const entry of [echo, ...present].filter((e) => !ONLY || ONLY.includes(e.target) || ONLY.includes(e.name))) {
    try {
      results.push(...(await bundle([entry], path.join(ROOT, "dist"))));
    } catch (e) {
      // A function another engineer is still writing may not build yet: say so and measure the rest.
      console.log(`skip ${entry.target}: bundle failed (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
    }
  }

  // --baseline DIR: also measure the bundles of an earlier build (`npm run build -- --out DIR` on another commit),
  // interleaved with this build's, so a change is compared under the same machine load. DIR needs node_modules beside it
  // (a symlink) for the native externals.
  const baselineDir = process.argv.includes("--baseline") ? path.resolve(process.argv[process.argv.indexOf("--baseline") + 1] ?? "") : undefined;
  const argvOf = (dir: string, r: BundleResult): string[] => [r.target === echo.target ? path.join(dir, r.name, "index.js") : path.join(dir, "main.js")];
  const subjects: Subject[] = results.map((r) => ({ label: r.name, target: r.target, argv: argvOf(path.dirname(mainJs), r), result: r }));
  if (baselineDir) {
    for (const r of results) {
      const argv = argvOf(baselineDir, r);
      if (fs.existsSync(path.join(baselineDir, r.name, "index.js"))) subjects.push({ label: `${r.name} (baseline)`, target: r.target, argv });
    }
  }

  const ffMain = path.join(ROOT, "node_modules/@google-cloud/functions-framework/build/src/main.js");
  const floor: Sample[] = [];
  const samples = new Map<string, Sample[]>();
  const statuses = new Map<string, number>();
  // Interleave the floor with every function run so machine noise hits both alike; each run's ratio is against the floor
  // of its own round.
  for (let i = 0; i < RUNS; i++) {
    const f = await coldStart([ffMain, "--target=hello", `--source=${path.join(ROOT, "bench/coldstart/hello.mjs")}`, "--signature-type=cloudevent"], env, ping, { cwd: ROOT });
    floor.push(f);
    for (const s of subjects) {
      const probe = PROBES[s.target as FunctionTarget] ?? ping;
      const out = await coldStart(s.argv, { ...env, FUNCTION_TARGET: s.target, K_SERVICE: s.label.split(" ")[0] }, probe, { cwd: ROOT });
      statuses.set(s.label, out.status);
      samples.set(s.label, [...(samples.get(s.label) ?? []), out]);
      if (out.ms !== undefined && f.ms !== undefined) out.ratio = out.ms / f.ms;
      if (out.cpuMs !== undefined && f.cpuMs !== undefined) out.cpuRatio = out.cpuMs / f.cpuMs;
    }
  }
  const med = (xs: Sample[], k: "ms" | "cpuMs" | "firstMs" | "ratio" | "cpuRatio"): number | undefined => {
    const v = xs.map((x) => x[k]).filter((x): x is number => x !== undefined);
    return v.length ? median(v) : undefined;
  };
  const floorMs = med(floor, "ms") ?? NaN;
  const floorCpu = med(floor, "cpuMs");
  const rows = subjects.map((s) => {
    const xs = samples.get(s.label) ?? [];
    return {
      name: s.label,
      ms: med(xs, "ms"),
      ratio: med(xs, "ratio"),
      cpuMs: med(xs, "cpuMs"),
      cpuRatio: med(xs, "cpuRatio"),
      firstMs: med(xs, "firstMs"),
      status: statuses.get(s.label) ?? 0,
      coldKiB: s.result ? Math.round(s.result.coldBytes / 1024) : undefined,
      totalKiB: s.result ? Math.round(s.result.totalBytes / 1024) : undefined,
      heavy: HEAVY_MODULES.filter((m) => s.result?.packages.includes(m) || s.result?.externals.includes(m)),
    };
  });
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ");
  const fmt = (x: number | undefined, unit = ""): string => (x === undefined ? "-" : unit ? `${x.toFixed(0)} ${unit}` : x.toFixed(2));
  console.log(`\nload average (1/5/15 min): ${load(loadBefore)} before, ${load(os.loadavg())} after, on ${os.cpus().length} cores`);
  console.log(`cold start, median of ${RUNS} (spawn -> first 2xx); floor = bare functions-framework hello: ${floorMs.toFixed(0)} ms, CPU ${fmt(floorCpu, "ms")}`);
  console.log("ratios: median of each run's ratio to the floor of its own round; CPU = on-CPU time of all the process's threads");
  console.log("function                          first 2xx  x floor  CPU      x floor CPU  first answer  cold KiB  total KiB  heavy modules");
  for (const r of rows) {
    const ms = r.ms === undefined ? `none (${r.status || "-"})` : `${r.ms.toFixed(0)} ms`;
    console.log(
      `${r.name.padEnd(33)} ${ms.padStart(10)}  ${fmt(r.ratio).padStart(7)}  ${fmt(r.cpuMs, "ms").padStart(7)}  ${fmt(r.cpuRatio).padStart(11)}  ${fmt(r.firstMs, "ms").padStart(12)}  ${String(r.coldKiB ?? "-").padStart(8)}  ${String(r.totalKiB ?? "-").padStart(9)}  ${r.heavy.join(", ") || "-"}`,
    );
  }
  const round = (x: number | undefined, digits = 0): number | null => (x === undefined ? null : Number(x.toFixed(digits)));
  console.log(
    JSON.stringify({
      bench: "coldstart",
      runs: RUNS,
      floorMs: Math.round(floorMs),
      floorCpuMs: round(floorCpu),
      functions: rows.map((r) => ({ ...r, ms: round(r.ms), ratio: round(r.ratio, 2), cpuMs: round(r.cpuMs), cpuRatio: round(r.cpuRatio, 2), firstMs: round(r.firstMs) })),
      skipped: missing,
    }),
  );
  await deps.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
