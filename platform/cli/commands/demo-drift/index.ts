// Entry of `flywheel demo --drift`: an in-process platform with the demo's policies (or --url), real Prometheus and
// Alertmanager when installed (else the in-process monitor, and it says so), then the story; last line the recovery.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiClient } from "../../client.ts";
import type { Out } from "../../output.ts";
import { DRIFT_DEMO_POLICIES, runDriftDemo, type DriftDemoResult } from "./run.ts";
import { installed, startMonitoring, type Server } from "./servers.ts";

export { runDriftDemo, DRIFT_DEMO_POLICIES, type DriftDemoResult } from "./run.ts";

export interface DriftDemoOptions {
  readonly url: string | undefined;
  readonly token: string | undefined;
  readonly json: boolean;
  readonly dataDir: string | undefined;
  /** Force the in-process monitor even when Prometheus is installed (tests of the fallback). */
  readonly inProcessMonitor?: boolean | undefined;
}

function finish(result: DriftDemoResult, out: Out, json: boolean): number {
  if (json) out.json(result);
  out.line(`recovered: accuracy ${result.before.toFixed(2)} -> ${result.after.toFixed(2)}`);
  return result.after > result.before ? 0 : 1;
}

export async function driftDemo(o: DriftDemoOptions, env: NodeJS.ProcessEnv, out: Out, repoRoot: string): Promise<number> {
  const realServers = !o.inProcessMonitor && installed("prometheus") && installed("prometheus-alertmanager");
  const monitor = realServers ? "prometheus" : "in-process";
  if (o.url) {
    // Against a running platform: its own monitoring fires the alerts; this side only drives traffic and reads.
    out.line(`platform: ${o.url} (its policies and monitoring apply; the story expects the canary policy in DRIFT_DEMO_POLICIES)`);
    const api = new ApiClient({ url: o.url, token: o.token });
    return finish(await runDriftDemo(api, repoRoot, out, o.json, { monitor: "in-process", metricsUrl: o.url }), out, o.json);
  }
  const dataDir = o.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-drift-demo-"));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "flywheel-drift-mon-"));
  const policies = path.join(work, "policies.yaml");
  fs.writeFileSync(policies, DRIFT_DEMO_POLICIES);
  const { startEmbedded } = await import("../../../app/start.ts");
  const platform = await startEmbedded({
    env: { ...env, FLYWHEEL_LOG_LEVEL: env.FLYWHEEL_LOG_LEVEL ?? "warn", FLYWHEEL_POLICIES_FILE: policies },
    port: 0,
    host: "127.0.0.1",
    dataDir,
    quiet: true,
  });
  const servers: Server[] = [];
  try {
    if (!o.json) out.line(`platform: ${platform.url} (in-process, data in ${dataDir})`);
    const token = platform.config.alertmanagerToken ?? platform.token ?? "";
    if (realServers) {
      const m = await startMonitoring({ dir: work, repoRoot, target: new URL(platform.url).host, webhook: `${platform.url}/hooks/alertmanager`, token });
      servers.push(m.alertmanager, m.prometheus);
      if (!o.json) out.line(`monitoring: Prometheus ${m.prometheus.url} and Alertmanager ${m.alertmanager.url} (shipped rules, for: 1s)`);
    } else if (!o.json) {
      out.line("monitoring: Prometheus/Alertmanager not installed (Debian prometheus, prometheus-alertmanager); using the in-process monitor");
    }
    const api = new ApiClient({ url: platform.url, token: platform.token });
    return finish(await runDriftDemo(api, repoRoot, out, o.json, { monitor, metricsUrl: platform.url }), out, o.json);
  } finally {
    for (const s of servers) await s.stop();
    await platform.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
