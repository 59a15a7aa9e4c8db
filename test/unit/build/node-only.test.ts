// The node-only esbuild plugin: pg's Cloudflare probe (a `new Response`, loading undici) is gone from a bundle of pg.
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { nodeOnly } from "../../../platform/build/node-only.ts";

describe("nodeOnly", () => {
  it("answers pg's isCloudflareRuntime() with false at build time, leaving Node's socket functions", async () => {
    const bundleOf = async (plugins: ReturnType<typeof nodeOnly>[]) => {
      const out = await build({ stdin: { contents: 'module.exports = require("pg/lib/stream.js");', resolveDir: process.cwd() }, bundle: true, platform: "node", format: "cjs", write: false, plugins });
      return out.outputFiles[0]?.text ?? "";
    };
    const patched = await bundleOf([nodeOnly()]);
    expect(patched).toMatch(/function isCloudflareRuntime\(\) \{\s*return false;/);
    expect(patched).toContain("getNodejsStreamFuncs");
    expect(await bundleOf([])).not.toMatch(/function isCloudflareRuntime\(\) \{\s*return false;/);
  });
});
