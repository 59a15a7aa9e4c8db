// Runs a CommonJS function bundle through vm.Script with V8's code cache (the build's warm-up wrote it), so a cold
// start deserialises compiled bytecode instead of parsing and compiling the bundle. Node 20 has no compile cache for ESM.
import { isAscii } from "node:buffer";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import zlib from "node:zlib";
import { logLine } from "../log.ts";

/** The code cache beside a bundle: `<bundle>.v8cache`. */
export const cacheFileOf = (bundleFile: string): string => `${bundleFile}.v8cache`;

/** Set (to any value) in the build's warm-up run only: the process writes the cache when it exits. */
export const WRITE_CACHE_ENV = "FLYWHEEL_CODE_CACHE_WRITE";

export type CacheOutcome = "accepted" | "rejected" | "corrupt" | "missing" | "writing";

// Node's CommonJS wrapper, on the bundle's first line (its banner) so the source map's lines stay right.
const WRAPPER = "(function (exports, require, module, __filename, __dirname) { ";

/**
 * File layout: MAGIC, the payload's CRC-32 (uint32 BE), V8's cached data. V8 checks its own header (V8 version, flags,
 * source length) and refuses a mismatch, but a damaged payload behind a valid header aborts the process: the CRC keeps
 * such a file from reaching V8.
 */
const MAGIC = Buffer.from("FWCC1\n");
const HEADER = MAGIC.length + 4;

export function encodeCache(data: Buffer): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data));
  return Buffer.concat([MAGIC, crc, data]);
}

/** V8's cached data from a cache file's bytes, or undefined when the file is not one we wrote intact. */
export function decodeCache(file: Buffer): Buffer | undefined {
  if (file.length <= HEADER || !file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const data = file.subarray(HEADER);
  return zlib.crc32(data) === file.readUInt32BE(MAGIC.length) ? data : undefined;
}

function readCache(file: string): { data?: Buffer; outcome?: "missing" | "corrupt" } {
  // zlib.crc32 came in Node 20.15; package.json allows any Node 20, and an older one simply runs without the cache.
  if (typeof zlib.crc32 !== "function") return { outcome: "missing" };
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return { outcome: "missing" };
  }
  const data = decodeCache(bytes);
  return data ? { data } : { outcome: "corrupt" };
}

/**
 * Compiles and runs `bundleFile` as CommonJS. A cache V8 refuses (another Node/V8 version or other V8 flags, e.g. a
 * NODE_OPTIONS the warm-up did not run with), a damaged one or none only costs the normal compile, with a warning on
 * stderr: start-up never fails because of the cache.
 */
export function runBundle(bundleFile: string, env: NodeJS.ProcessEnv = process.env): CacheOutcome {
  const file = path.resolve(bundleFile);
  const bytes = fs.readFileSync(file);
  // The bundles are ASCII (esbuild's charset "ascii", bundle.ts): read as a one-byte copy, not through V8's UTF-8
  // decoder, which took about a third more of the time spent reading a 4 MB bundle. Any other file decodes as UTF-8.
  const source = bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
  const writing = env[WRITE_CACHE_ENV] !== undefined;
  const cache = writing ? {} : readCache(cacheFileOf(file));
  const script = new vm.Script(`${WRAPPER}${source}\n})`, {
    filename: file,
    cachedData: cache.data,
    // Bundles keep import() only for what esbuild cannot resolve at build time: let Node's loader handle it as usual.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const outcome: CacheOutcome = writing ? "writing" : (cache.outcome ?? (script.cachedDataRejected === true ? "rejected" : "accepted"));
  if (writing) {
    // At exit the cache holds every function compiled so far (module set-up, the server, the first requests), not only
    // the top level V8 compiles eagerly. Written aside and renamed: a reader never sees half a file.
    process.once("exit", () => {
      const out = cacheFileOf(file);
      fs.writeFileSync(`${out}.tmp`, encodeCache(script.createCachedData()));
      fs.renameSync(`${out}.tmp`, out);
    });
  } else if (outcome !== "accepted" && env.FLYWHEEL_LOG_LEVEL !== "silent" && env.FLYWHEEL_LOG_LEVEL !== "error") {
    // The entry has no parsed config yet; the level only decides whether this one line is written.
    process.stderr.write(`${logLine("warn", `code cache ${outcome}: compiling ${path.basename(file)} without it`, { cache: cacheFileOf(file) })}\n`);
  }
  const wrapper: unknown = script.runInThisContext();
  if (typeof wrapper !== "function") throw new Error(`${file}: not a CommonJS bundle`);
  const mod = { exports: {}, filename: file, id: file };
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  return outcome;
}
