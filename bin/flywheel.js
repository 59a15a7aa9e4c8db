#!/usr/bin/env node
// `npx flywheel ...`: loads the TypeScript CLI through tsx's ESM loader (no build step needed).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../platform/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
