// runBundle reads an ASCII bundle (what esbuild writes) one byte per character and anything else as UTF-8: either way the
// code runs with its strings intact.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { runBundle } from "../../../platform/knative/code-cache.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-code-cache-source-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const seen: Record<string, unknown> = {};
Object.assign(globalThis, { flywheelCodeCacheSourceTest: seen });

it.each([
  ["ascii", "module.exports = 1; globalThis.flywheelCodeCacheSourceTest.ascii = \"caf\\u00e9 \\u2713\";", "café ✓"],
  ["utf8", "module.exports = 1; globalThis.flywheelCodeCacheSourceTest.utf8 = \"café ✓\";", "café ✓"],
])("runs a %s bundle with its strings intact", (name, code, expected) => {
  const file = path.join(dir, `${name}.cjs`);
  fs.writeFileSync(file, code, "utf8");
  expect(runBundle(file, { FLYWHEEL_LOG_LEVEL: "silent" })).toBe("missing");
  expect(seen[name]).toBe(expected);
});
