// esbuild: one CommonJS bundle per function (dist/<service>/function.cjs, run by dist/<service>/index.js or dist/main.js
// through V8's code cache, see knative/code-cache.ts), so a cold start loads only what that function needs.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";
import { FUNCTION_TARGETS, TARGETS, type FunctionTarget } from "../knative/targets.ts";
import { nodeOnly } from "./node-only.ts";
import { warmUp } from "./warm-up.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Native addons cannot be bundled: they stay in node_modules and load with require at run time. */
export const NATIVE_EXTERNALS = ["onnxruntime-node", "better-sqlite3"] as const;

/**
 * Data-heavy CommonJS packages the image's production node_modules ships anyway, left to require() at run time: a
 * cold start spends most of its CPU compiling the bundle, and these are mostly tables it never runs (iconv-lite's
 * code pages, 480 KB, reach every function through functions-framework's body-parser; mime-db's 150 KB list, through
 * express, is JSON that require() reads with JSON.parse instead of compiling it as a JS literal).
 */
export const RUNTIME_EXTERNALS = ["iconv-lite", "mime-db"] as const;

/**
 * Externalises RUNTIME_EXTERNALS only where the import resolves to the top-level copy in node_modules (the one a bare
 * require from dist/ finds); a nested copy of another version (client-node's form-data has its own mime-db) stays
 * bundled, so every importer keeps the version it was installed with.
 */
function runtimeExternals(root: string): Plugin {
  return {
    name: "runtime-externals",
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${RUNTIME_EXTERNALS.join("|")})$`) }, async (args) => {
        if (args.pluginData === "runtime-externals") return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: "runtime-externals" });
        if (resolved.errors.length > 0) return resolved;
        const top = path.join(root, "node_modules", args.path);
        if (!fs.existsSync(top)) return resolved;
        return fs.realpathSync(resolved.path).startsWith(fs.realpathSync(top) + path.sep) ? { path: args.path, external: true } : resolved;
      });
    },
  };
}

/** Modules a function should only carry if it calls them (checked by tests and printed in the report). */
export const HEAVY_MODULES = ["@kubernetes/client-node", "@opentelemetry/exporter-trace-otlp-http", "@opentelemetry/sdk-node", "onnxruntime-node"] as const;

/**
 * The sources are ESM and some use import.meta.url (files beside the module, the main-module check): in the CommonJS
 * bundle it is the bundle's own URL, as it was in the ESM bundle. One line: code-cache.ts puts its wrapper on it.
 */
const IMPORT_META_URL = "__flywheelImportMetaUrl";
const BANNER = `var ${IMPORT_META_URL} = require("node:url").pathToFileURL(__filename).href;`;

/** The file with the function's code, beside its index.js; its V8 code cache is `function.cjs.v8cache`. */
export const FUNCTION_FILE = "function.cjs";

export interface BundleEntry {
  readonly target: string;
  /** Output folder name (the Knative Service name). */
  readonly name: string;
  /** Absolute path of the module that registers `target`. */
  readonly module: string;
}

export interface BundleResult {
  readonly target: string;
  readonly name: string;
  readonly outFile: string;
  /** Bytes of function.cjs that the modules a cold start evaluates take (static imports and require() from the entry). */
  readonly coldBytes: number;
  /** Bytes of function.cjs, including the modules only a dynamic import() evaluates, when reached. */
  readonly totalBytes: number;
  /** Packages (node_modules) in the statically loaded part, and the externals it requires. */
  readonly packages: readonly string[];
  readonly externals: readonly string[];
  /** Size of the V8 code cache the warm-up wrote, and whether the function served during it. */
  readonly codeCacheBytes?: number;
  readonly warmUpServed?: boolean;
  /** The status of each warm-up request. */
  readonly warmUpStatuses?: readonly number[];
}

/** The repo's targets whose module exists (others are not written yet). */
export function presentTargets(root = ROOT): { present: BundleEntry[]; missing: FunctionTarget[] } {
  const present: BundleEntry[] = [];
  const missing: FunctionTarget[] = [];
  for (const t of FUNCTION_TARGETS) {
    const module = path.join(root, TARGETS[t].module);
    if (fs.existsSync(module)) present.push({ target: t, name: TARGETS[t].service, module });
    else missing.push(t);
  }
  return { present, missing };
}

/** dist/package.json: the launcher and every index.js are ESM, wherever dist/ is (a --out outside the repo too). */
function markEsm(outDir: string): void {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify({ type: "module", private: true })}\n`);
}

export async function bundle(entries: readonly BundleEntry[], outDir: string, root = ROOT): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  // Before the warm-ups: without it, an index.js outside the repo ran as CommonJS, failed at its first import, and the
  // cache held only what the failed start compiled.
  markEsm(outDir);
  for (const e of entries) {
    const dir = path.join(outDir, e.name);
    fs.rmSync(dir, { recursive: true, force: true });
    const run = path.join(root, "platform/knative/run.ts");
    const contents = [
      `import ${JSON.stringify(e.module)};`,
      `import { exitOnStartupError, runTarget } from ${JSON.stringify(run)};`,
      `runTarget(${JSON.stringify(e.target)}).catch(exitOnStartupError);`,
    ].join("\n");
    const out = await build({
      stdin: { contents, resolveDir: root, sourcefile: `${e.name}-entry.ts`, loader: "ts" },
      bundle: true,
      platform: "node",
      target: "node20",
      // CommonJS so that it can run through vm.Script with a code cache (Node 20 caches no ESM compilation). Without
      // splitting, a dynamic import() (the OTel SDK when tracing is on) stays in the file but is only evaluated when
      // reached; with the code cache its functions are not even parsed before then.
      format: "cjs",
      outfile: path.join(dir, FUNCTION_FILE),
      external: [...NATIVE_EXTERNALS],
      plugins: [runtimeExternals(root), nodeOnly()],
      banner: { js: BANNER },
      define: { "import.meta.url": IMPORT_META_URL },
      // import() left in a vm.Script fails when V8 ran it from the code cache (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING
      // from the OTLP exporter's import("http")): esbuild turns each into a require().
      supported: { "dynamic-import": false },
      jsx: "automatic",
      jsxImportSource: "hono/jsx",
      // esbuild's default, relied on: an ASCII file is read by code-cache.ts as one byte per character, without decoding.
      charset: "ascii",
      minify: process.env.FLYWHEEL_BUNDLE_MINIFY !== "0",
      // Error classes name themselves from new.target.name, and callers branch on it (err.name === "NotFoundError"):
      // minified, a missing InferenceService was error "Ka", not NotFound, and deploy-model refused every first deploy;
      // and every Knative function logged "error":"Wo" instead of "UpstreamError".
      keepNames: true,
      sourcemap: "linked",
      metafile: true,
      legalComments: "linked",
      logLevel: "error",
    });
    // index.js: runs function.cjs through the code cache (what dist/main.js does for FUNCTION_TARGET), for running one
    // function's folder directly.
    await build({
      stdin: {
        contents: [
          'import { fileURLToPath } from "node:url";',
          `import { runBundle } from ${JSON.stringify(path.join(root, "platform/knative/code-cache.ts"))};`,
          `runBundle(fileURLToPath(new URL(${JSON.stringify(`./${FUNCTION_FILE}`)}, import.meta.url)));`,
        ].join("\n"),
        resolveDir: root,
        sourcefile: `${e.name}-index.ts`,
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      outfile: path.join(dir, "index.js"),
      logLevel: "error",
    });
    // pages/static.ts reads its assets next to itself (new URL("./static/...", import.meta.url)): in a bundle that is
    // <bundle dir>/static, so they are copied there (the image's /app/pages/static is not where the bundle looks).
    if (Object.keys(out.metafile.inputs).some((k) => path.resolve(root, k) === path.join(root, "pages/static.ts"))) {
      fs.cpSync(path.join(root, "pages/static"), path.join(dir, "static"), { recursive: true });
    }
    const result = summarise(e, path.join(dir, "index.js"), path.join(dir, FUNCTION_FILE), out.metafile, root);
    const warm = await warmUp(result.outFile, e.target);
    results.push({ ...result, codeCacheBytes: warm.bytes, warmUpServed: warm.served, warmUpStatuses: warm.statuses });
  }
  return results;
}

/**
 * dist/main.js (the launcher picking a bundle by FUNCTION_TARGET), dist/warm-up.js (rewrites the code caches) and
 * dist/package.json marking them as ESM.
 */
export async function bundleLauncher(outDir: string, root = ROOT): Promise<string> {
  markEsm(outDir);
  const outfile = path.join(outDir, "main.js");
  // dist/warm-up.js: the image's runtime stage rewrites the code caches with its own node (Dockerfile).
  for (const [entry, out] of [["platform/knative/launch.ts", outfile], ["platform/build/warm-up.ts", path.join(outDir, "warm-up.js")]] as const) {
    await build({ entryPoints: [path.join(root, entry)], bundle: true, platform: "node", target: "node20", format: "esm", outfile: out, logLevel: "error" });
  }
  return outfile;
}

function summarise(e: BundleEntry, outFile: string, codeFile: string, meta: Metafile, root: string): BundleResult {
  const rel = (p: string): string => path.relative(root, path.resolve(root, p));
  const output = Object.entries(meta.outputs).find(([k]) => path.resolve(root, k) === codeFile)?.[1];
  if (!output) throw new Error(`esbuild wrote no ${codeFile}`);
  // Follow static imports and require() calls from the entry through the inputs: that closure is what a cold start
  // evaluates; a dynamic import() target is in the file too but only evaluated (and compiled) when reached.
  const entryKey = Object.keys(meta.inputs).find((k) => k.endsWith(`${e.name}-entry.ts`));
  if (!entryKey) throw new Error(`esbuild's metafile has no entry for ${e.name}`);
  const { seen, externals } = staticClosure(meta, entryKey);
  const packages = new Set<string>();
  let coldBytes = 0;
  for (const k of seen) {
    coldBytes += output.inputs[k]?.bytesInOutput ?? 0;
    const pkg = packageOf(rel(k));
    if (pkg) packages.add(pkg);
  }
  return { target: e.target, name: e.name, outFile, coldBytes, totalBytes: output.bytes, packages: [...packages].sort(), externals: [...externals].sort() };
}

/** The inputs a module's static imports and require() calls reach (what evaluating it evaluates), and the externals. */
export function staticClosure(meta: Metafile, entryKey: string): { seen: Set<string>; externals: Set<string> } {
  const seen = new Set<string>();
  const externals = new Set<string>();
  const queue = [entryKey];
  while (queue.length) {
    const k = queue.pop()!;
    if (seen.has(k)) continue;
    seen.add(k);
    for (const imp of meta.inputs[k]?.imports ?? []) {
      if (imp.kind !== "import-statement" && imp.kind !== "require-call") continue;
      if (imp.external) {
        if (!imp.path.startsWith("node:")) externals.add(imp.path);
      } else if (meta.inputs[imp.path]) queue.push(imp.path);
    }
  }
  return { seen, externals };
}

function packageOf(file: string): string | undefined {
  const i = file.lastIndexOf("node_modules/");
  if (i < 0) return undefined;
  const parts = file.slice(i + "node_modules/".length).split("/");
  return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

/**
 * `npm run build` writes every bundle and the launcher to dist/ (the Dockerfile's build stage). For tests that lay out
 * an image: `-- --out DIR` writes elsewhere, `--only TARGET[,TARGET]` builds just those functions (same code path).
 */
async function cli(argv: readonly string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = arg("--out");
  const outDir = out ? path.resolve(out) : path.join(ROOT, "dist");
  const only = arg("--only")?.split(",");
  const all = presentTargets();
  const present = only ? all.present.filter((e) => only.includes(e.target)) : all.present;
  const missing = all.missing;
  for (const t of missing) process.stdout.write(`skip ${t}: ${TARGETS[t].module} does not exist yet\n`);
  const results = await bundle(present, outDir);
  await bundleLauncher(outDir);
  fs.writeFileSync(path.join(outDir, "bundles.json"), JSON.stringify(results, null, 2) + "\n");
  for (const r of results) {
    const heavy = HEAVY_MODULES.filter((m) => r.packages.includes(m) || r.externals.includes(m));
    process.stdout.write(
      `${r.name.padEnd(22)} cold ${(r.coldBytes / 1024).toFixed(0).padStart(6)} KiB  total ${(r.totalBytes / 1024).toFixed(0).padStart(6)} KiB  code cache ${((r.codeCacheBytes ?? 0) / 1024).toFixed(0).padStart(5)} KiB${r.warmUpServed ? ` (warm-up ${r.warmUpStatuses?.join(" ")})` : " (did not serve)"}  heavy: ${heavy.join(", ") || "-"}\n`,
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
