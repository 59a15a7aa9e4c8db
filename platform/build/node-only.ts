// esbuild plugin: drops pg's Cloudflare Workers probe from function bundles, which run on Node only.
import fs from "node:fs";
import type { Plugin } from "esbuild";

const PROBE = "function isCloudflareRuntime() {";

/**
 * pg/lib/stream.js asks "Cloudflare Workers?" when it loads: Node 20 has no `navigator`, so it builds a `new Response`,
 * which loads Node's bundled undici (~18 ms of a cold start's critical path, in a function that never fetches). The
 * image runs Node, so the answer is fixed at build time. If pg changes that file the build fails here, not silently.
 */
export function nodeOnly(): Plugin {
  return {
    name: "node-only",
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
        const src = await fs.promises.readFile(args.path, "utf8");
        if (!src.includes(PROBE)) throw new Error(`${args.path}: no ${PROBE} (pg changed; update platform/build/node-only.ts)`);
        return { contents: src.replace(PROBE, `${PROBE}\n  return false;`), loader: "js" };
      });
    },
  };
}
