// `flywheel demo --drift` end to end, as a user runs it: the CLI in a child process, the embedded platform, real
// Prometheus and Alertmanager from Debian. The story must recover: accuracy after > before, drift back under 0.2.
// The in-process monitor (no outside servers) is exercised too, through the same entry with the fallback forced.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { driftDemo, type DriftDemoResult } from "../../../platform/cli/commands/demo-drift/index.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function need(cmd: string, pkg: string): void {
  if (spawnSync(cmd, ["--version"], { stdio: "ignore" }).error) throw new Error(`${cmd} not found: install the Debian package ${pkg}`);
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "platform/cli/main.ts"), ...args], { cwd: repoRoot, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("flywheel demo --drift", () => {
  it("recovers with real Prometheus and Alertmanager: better accuracy on the new data, drift under the threshold", async () => {
    need("prometheus", "prometheus");
    need("prometheus-alertmanager", "prometheus-alertmanager");
    const r = await runCli(["demo", "--drift"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.some((l) => l.startsWith("monitoring: Prometheus http://127.0.0.1:"))).toBe(true);
    for (const s of ["1 train + deploy", "2 shifted traffic", "3 alerts", "4 retrain", "5 fair gate", "6 canary", "7 promotion", "8 drift"]) {
      expect(lines.find((l) => l.startsWith(s)), s).toMatch(/\d+ ms {2}/);
    }
    expect(lines.find((l) => l.startsWith("3 alerts"))).toMatch(/ModelDriftDetected/);
    expect(lines.find((l) => l.startsWith("3 alerts"))).toMatch(/ModelAccuracyDropped/);
    expect(lines.find((l) => l.startsWith("3 alerts"))).toMatch(/Prometheus -> Alertmanager/);
    const m = /^recovered: accuracy (\d\.\d\d) -> (\d\.\d\d)$/.exec(lines.at(-1) ?? "");
    expect(m, lines.at(-1)).not.toBeNull();
    expect(Number(m?.[2])).toBeGreaterThan(Number(m?.[1]));
    const drift = /drift score (\d+\.\d+) < 0\.2/.exec(lines.find((l) => l.startsWith("8 drift")) ?? "");
    expect(Number(drift?.[1])).toBeLessThan(0.2);
  }, 240_000);

  it("says so and still recovers with the in-process monitor", async () => {
    const lines: string[] = [];
    let result: DriftDemoResult | undefined;
    const out = { line: (t: string) => void lines.push(t), json: (v: unknown) => void (result = v as DriftDemoResult), error: (t: string) => void lines.push(t) };
    const code = await driftDemo({ url: undefined, token: undefined, json: true, dataDir: undefined, inProcessMonitor: true }, { PATH: process.env.PATH, HOME: process.env.HOME }, out, repoRoot);
    expect(code).toBe(0);
    expect(result?.monitor).toBe("in-process");
    expect(result?.after).toBeGreaterThan(result?.before ?? 1);
    expect(result?.driftBefore).toBeGreaterThan(0.2);
    expect(result?.driftAfter).toBeLessThan(0.2);
    expect(lines.at(-1)).toMatch(/^recovered: accuracy \d\.\d\d -> \d\.\d\d$/);
  }, 240_000);
});
