// The image's entry (dist/main.js): loads the one bundle FUNCTION_TARGET names, and nothing of the others.
import { FUNCTION_TARGETS, isFunctionTarget, TARGETS } from "./targets.ts";

const target = process.env.FUNCTION_TARGET;
if (!isFunctionTarget(target)) {
  process.stderr.write(`FUNCTION_TARGET: must be one of ${FUNCTION_TARGETS.join(", ")}, not ${JSON.stringify(target ?? "")}\n`);
  process.exit(1);
}
// Built at run time so esbuild leaves it a real dynamic import instead of bundling every function into this file.
const bundle = new URL(`./${TARGETS[target].service}/index.js`, import.meta.url).href;
await import(bundle);
