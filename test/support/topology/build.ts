// The production bundles (platform/build/bundle.ts, as `npm run build` and the image build them) for the topology,
// cached under .flywheel/topology/ by a fingerprint of the sources, so the topology test files build once per change.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { bundle, bundleLauncher, presentTargets } from "../../../platform/build/bundle.ts";
import { ROOT } from "../knative-process.ts";

const SOURCES = ["platform", "functions", "pages", "triggers", "package-lock.json"];

function fingerprint(): string {
  const h = crypto.createHash("sha256");
  const walk = (p: string): void => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) if (e !== "node_modules") walk(path.join(p, e));
    } else {
      h.update(`${path.relative(ROOT, p)}\0${st.size}\0${st.mtimeMs}\n`);
    }
  };
  for (const s of SOURCES) if (fs.existsSync(path.join(ROOT, s))) walk(path.join(ROOT, s));
  return h.digest("hex").slice(0, 16);
}

/** dist/main.js of a build of the current sources (built now, or reused). Inside the repo so node_modules resolve. */
export async function productionBundle(): Promise<{ mainJs: string; built: boolean }> {
  const base = path.join(ROOT, ".flywheel", "topology");
  fs.mkdirSync(base, { recursive: true });
  const dir = path.join(base, `dist-${fingerprint()}`);
  const mainJs = path.join(dir, "main.js");
  if (fs.existsSync(mainJs)) return { mainJs, built: false };
  // Two test files may build at once: each builds into its own folder and renames; the loser's rename fails harmlessly.
  const tmp = `${dir}.tmp-${process.pid}`;
  const { present } = presentTargets();
  await bundle(present, tmp);
  await bundleLauncher(tmp);
  try {
    fs.renameSync(tmp, dir);
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // Older builds are dead weight, once no topology started in the last hour can still be running from them.
  for (const e of fs.readdirSync(base)) {
    const p = path.join(base, e);
    if (e.startsWith("dist-") && p !== dir && fs.statSync(p).mtimeMs < Date.now() - 3_600_000) fs.rmSync(p, { recursive: true, force: true });
  }
  return { mainJs, built: true };
}
