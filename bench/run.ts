// `npm run bench [name...]`: runs each bench/<name>/run.ts in its own process, one after another, and collects
// the JSON line each prints last into bench/results.json. Benchmarks measure; they never pass or fail on timings.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const names = fs
  .readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(here, d.name, "run.ts")))
  .map((d) => d.name)
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();

const results: Record<string, unknown> = {};
let failed = 0;
for (const name of names) {
  process.stdout.write(`\n=== bench/${name} ===\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(here, name, "run.ts")], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", timeout: 600_000 });
  process.stdout.write(r.stdout ?? "");
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`bench/${name} exited ${r.status}\n`);
    continue;
  }
  const last = (r.stdout ?? "").trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (last) results[name] = JSON.parse(last);
}
fs.writeFileSync(path.join(here, "results.json"), JSON.stringify({ at: new Date().toISOString(), node: process.version, results }, null, 2) + "\n");
process.exitCode = failed ? 1 : 0;
