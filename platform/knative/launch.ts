// The image's entry (dist/main.js): runs the one bundle FUNCTION_TARGET names (through its V8 code cache), nothing else.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runBundle } from "./code-cache.ts";
import { FUNCTION_TARGETS, isFunctionTarget, TARGETS } from "./targets.ts";

const target = process.env.FUNCTION_TARGET;
if (!isFunctionTarget(target)) {
  process.stderr.write(`FUNCTION_TARGET: must be one of ${FUNCTION_TARGETS.join(", ")}, not ${JSON.stringify(target ?? "")}\n`);
  process.exit(1);
}
// dist/<service>/function.cjs (platform/build/bundle.ts FUNCTION_FILE), beside this file.
runBundle(path.join(path.dirname(fileURLToPath(import.meta.url)), TARGETS[target].service, "function.cjs"));
