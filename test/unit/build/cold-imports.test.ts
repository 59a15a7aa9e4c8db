// What a function's start evaluates: the Knative functions that keep dead letters and the event log in PostgreSQL do
// not load better-sqlite3 (a native addon) through the dead-letter helpers they share with the embedded broker.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { NATIVE_EXTERNALS, staticClosure } from "../../../platform/build/bundle.ts";
import { TARGETS } from "../../../platform/knative/targets.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

async function coldExternals(module: string): Promise<Set<string>> {
  const out = await build({ entryPoints: [path.join(ROOT, module)], absWorkingDir: ROOT, bundle: true, platform: "node", format: "cjs", write: false, metafile: true, outfile: "out.cjs", external: [...NATIVE_EXTERNALS], logLevel: "error" });
  const entry = Object.keys(out.metafile.inputs).find((k) => path.resolve(ROOT, k) === path.join(ROOT, module));
  if (!entry) throw new Error(`no ${module} in the metafile`);
  return staticClosure(out.metafile, entry).externals;
}

describe("a cold start's imports", () => {
  it("dead-letter and event-log do not load better-sqlite3; the embedded broker's store still does", async () => {
    expect(await coldExternals(TARGETS.deadLetter.module)).not.toContain("better-sqlite3");
    expect(await coldExternals(TARGETS.eventLog.module)).not.toContain("better-sqlite3");
    expect(await coldExternals("platform/eventing/dead-letter-store.ts")).toContain("better-sqlite3");
  });
});
