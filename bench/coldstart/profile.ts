// Where a cold start's CPU goes, per function: each bundle runs once under `node --cpu-prof` to its first 2xx (the
// bench's probe and deps), then drains on SIGTERM; the profile's self time is mapped back through the bundle's source
// map to the package (node_modules) or repo folder that owns it, and the top costs are printed.
// Run: npx tsx bench/coldstart/profile.ts [--top N] [--only target,target] [--dist DIR (a prebuilt `npm run build -- --out DIR`)]
//   [--keep DIR (copies the .cpuprofile files there, for Chrome DevTools)]
import fs from "node:fs";
import { SourceMap } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bundle, bundleLauncher, presentTargets, type BundleEntry } from "../../platform/build/bundle.ts";
import type { FunctionTarget } from "../../platform/knative/targets.ts";
import { startBenchDeps } from "./deps.ts";
import { benchEnv, coldStart, ping, probes } from "./harness.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const arg = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const TOP = Number(arg("--top")) || 12;

interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Owner of a source file: the npm package, else the repo folder (two levels), else the file. */
function owner(source: string): string {
  const file = source.replace(/^file:\/\//, "");
  const i = file.lastIndexOf("node_modules/");
  if (i >= 0) {
    const parts = file.slice(i + "node_modules/".length).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? file);
  }
  // The map's sources are relative to where the bundle was built: the repo folder is found by name.
  const m = /(?:^|\/)((?:platform|functions|pages|triggers|test|bench)\/[^/]+)/.exec(file);
  return m?.[1] ?? file;
}

/** Self time (ms) per owner of one profile. */
function attribute(profile: CpuProfile): Map<string, number> {
  const maps = new Map<string, SourceMap | undefined>();
  const mapFor = (url: string): SourceMap | undefined => {
    if (!maps.has(url)) {
      const file = `${fileURLToPath(url)}.map`;
      maps.set(url, fs.existsSync(file) ? new SourceMap(JSON.parse(fs.readFileSync(file, "utf8")) as never) : undefined);
    }
    return maps.get(url);
  };
  const ownerOf = new Map<number, string>();
  for (const n of profile.nodes) {
    const { url, functionName, lineNumber, columnNumber } = n.callFrame;
    let o: string;
    if (!url) o = functionName.startsWith("(") ? functionName : "(native)";
    else if (url.startsWith("node:")) o = url.replace(/^node:internal\/(?:modules\/)?/, "node:").split("/").slice(0, 2).join("/");
    else if (url.startsWith("file:") || url.startsWith("/")) {
      // A bundle run through vm.Script (code-cache.ts) is named by its path, an imported one by its file: URL.
      const fileUrl = url.startsWith("/") ? pathToFileURL(url).href : url;
      const entry = mapFor(fileUrl)?.findEntry(lineNumber, columnNumber);
      const source = entry && "originalSource" in entry ? entry.originalSource : undefined;
      o = source ? owner(path.resolve(path.dirname(fileURLToPath(fileUrl)), source)) : owner(fileURLToPath(fileUrl));
    } else o = url;
    ownerOf.set(n.id, o);
  }
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const o = ownerOf.get(id) ?? "?";
    out.set(o, (out.get(o) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-coldprof-"));
  const deps = await startBenchDeps(ROOT, path.join(dataDir, "deps"), "bench-token-0123456789abcdef");
  try {
    const env = benchEnv(dataDir, deps);
    const PROBES = probes(deps.v2Body);
    const only = arg("--only")?.split(",");
    const echo: BundleEntry = { target: "echoTarget", name: "bench-echo", module: path.join(ROOT, "test/integration/telemetry/fixtures/echo-function.ts") };
    const entries = [echo, ...presentTargets().present].filter((e) => !only || only.includes(e.target));
    const dist = path.resolve(arg("--dist") ?? path.join(ROOT, "dist"));
    if (!arg("--dist")) await Promise.all([bundle(entries, dist), bundleLauncher(dist)]);
    const outFiles = entries.map((e) => ({ target: e.target, name: e.name, outFile: path.resolve(dist, e.name, "index.js") })).filter((b) => fs.existsSync(b.outFile));
    for (const b of outFiles) {
      // What the image runs (node dist/main.js, FUNCTION_TARGET); the echo fixture is no target: its index.js.
      const argv = b.target === echo.target ? [b.outFile] : [path.join(dist, "main.js")];
      const profDir = fs.mkdtempSync(path.join(dataDir, `prof-${b.name}-`));
      const probe = PROBES[b.target as FunctionTarget] ?? ping;
      const sample = await coldStart(["--cpu-prof", `--cpu-prof-dir=${profDir}`, ...argv], { ...env, FUNCTION_TARGET: b.target, K_SERVICE: b.name }, probe, { cwd: ROOT, stop: "SIGTERM" });
      const file = fs.readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
      if (!file) {
        console.log(`${b.name}: no profile (status ${sample.status})`);
        continue;
      }
      const keep = arg("--keep");
      if (keep) {
        fs.mkdirSync(keep, { recursive: true });
        fs.copyFileSync(path.join(profDir, file), path.join(keep, `${b.name}.cpuprofile`));
      }
      const byOwner = [...attribute(JSON.parse(fs.readFileSync(path.join(profDir, file), "utf8")) as CpuProfile)].filter(([o]) => o !== "(idle)");
      const total = byOwner.reduce((n, [, ms]) => n + ms, 0);
      const top = byOwner.sort((x, y) => y[1] - x[1]).slice(0, TOP);
      console.log(`\n${b.name}: first 2xx ${sample.ms?.toFixed(0) ?? "none"} ms wall, ${sample.cpuMs?.toFixed(0) ?? "-"} ms CPU; profiled (to exit, idle excluded) ${total.toFixed(0)} ms`);
      for (const [o, ms] of top) console.log(`  ${ms.toFixed(1).padStart(7)} ms  ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${o}`);
    }
  } finally {
    await deps.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
