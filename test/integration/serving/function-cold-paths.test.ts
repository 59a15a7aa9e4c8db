// What the functions that touch models and the cluster carry at start, from their real esbuild bundles: no heavy
// module in the statically loaded part, onnxruntime-node only ever loaded by a dynamic import (when a model is first
// validated or run: the bundle report lists it for log-model because it counts dynamic imports among the externals).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle, HEAVY_MODULES, presentTargets, type BundleResult } from "../../../platform/build/bundle.ts";

const out = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-cold-paths-"));
const TARGETS = ["logModel", "infer", "ui"];
const results = new Map<string, BundleResult>();

beforeAll(async () => {
  const entries = presentTargets().present.filter((e) => TARGETS.includes(e.target));
  for (const r of await bundle(entries, out)) results.set(r.target, r);
}, 120_000);

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

/** Every .js file a bundle wrote (the entry and all its chunks, lazy ones included). */
function outputs(r: BundleResult): string[] {
  const dir = path.dirname(r.outFile);
  const files = [r.outFile];
  const chunks = path.join(dir, "chunks");
  if (fs.existsSync(chunks)) for (const f of fs.readdirSync(chunks)) if (f.endsWith(".js")) files.push(path.join(chunks, f));
  return files;
}

describe.each(TARGETS)("%s bundle", (target) => {
  it("statically loads no heavy module", () => {
    const r = results.get(target);
    expect(r, target).toBeDefined();
    for (const heavy of HEAVY_MODULES) expect(r?.packages, heavy).not.toContain(heavy);
  });

  it("loads onnxruntime-node only through a dynamic import", () => {
    const r = results.get(target);
    if (!r) throw new Error(`no ${target} bundle`);
    const text = outputs(r).map((f) => fs.readFileSync(f, "utf8")).join("\n");
    const all = text.match(/["']onnxruntime-node["']/g) ?? [];
    const dynamic = text.match(/import\(\s*["']onnxruntime-node["']\s*\)/g) ?? [];
    expect(all.length).toBe(dynamic.length);
  });
});
