// Knative entry: FUNCTION_TARGET picks the function; its module registers it; runTarget listens on PORT.
// Bundles (platform/build/bundle.ts) import one module statically instead; this entry is for `tsx` and tests.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError } from "../errors.ts";
import { exitOnStartupError, runTarget } from "./run.ts";
import { FUNCTION_TARGETS, isFunctionTarget, TARGETS } from "./targets.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const target = env.FUNCTION_TARGET;
  if (!isFunctionTarget(target)) {
    throw new ConfigError([`FUNCTION_TARGET: must be one of ${FUNCTION_TARGETS.join(", ")}, not ${JSON.stringify(target ?? "")}`]);
  }
  const file = path.join(ROOT, TARGETS[target].module);
  if (!fs.existsSync(file)) throw new ConfigError([`FUNCTION_TARGET: ${target} has no module at ${TARGETS[target].module}`]);
  await import(pathToFileURL(file).href);
  await runTarget(target, env);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch(exitOnStartupError);
}
