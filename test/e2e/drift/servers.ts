// Real Prometheus and Alertmanager for the drift e2e: configs derived from the shipped files, short timings, free ports.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { requireTool } from "../../support/require-binary.ts";
import { freePort, startServerProcess, type ServerProcess } from "../../../platform/server-process.ts";
import { DEFAULT_RULE_OPTIONS, ruleGroups, type RuleOptions } from "../../../platform/telemetry/rules.ts";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export { freePort };

export type Server = ServerProcess;

export function startProcess(cmd: "prometheus" | "prometheus-alertmanager", args: string[], url: string, readyPath: string, timeoutMs = 30_000): Promise<Server> {
  return startServerProcess({ cmd: requireTool(cmd), args, url, readyPath, timeoutMs });
}

/** The shipped rules (platform/telemetry/rules.ts), as a test overlay: every `for` shortened, windows as given. */
export function testRules(dir: string, forDuration: string, overlay: Partial<RuleOptions> = {}): string {
  const groups = ruleGroups({ ...DEFAULT_RULE_OPTIONS, driftFor: forDuration, outlierFor: forDuration, platformFor: forDuration, ...overlay });
  const file = path.join(dir, "rules.yml");
  fs.writeFileSync(file, YAML.stringify({ groups }, { lineWidth: 0 }));
  return file;
}

/** `port` when the URL must be known before the targets start (a platform configured with FLYWHEEL_PROMETHEUS_URL). */
export async function startPrometheus(dir: string, o: { target: string | readonly string[]; alertmanager?: string; rules: string; interval: string; port?: number }): Promise<Server> {
  const port = o.port ?? (await freePort());
  const config = {
    global: { scrape_interval: o.interval, evaluation_interval: o.interval },
    rule_files: [o.rules],
    ...(o.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [o.alertmanager] }] }] } } : {}),
    scrape_configs: [{ job_name: "flywheel", metrics_path: "/metrics", static_configs: [{ targets: typeof o.target === "string" ? [o.target] : [...o.target] }] }],
  };
  const file = path.join(dir, "prometheus.yml");
  fs.writeFileSync(file, YAML.stringify(config));
  const args = [`--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`];
  return startProcess("prometheus", args, `http://127.0.0.1:${port}`, "/-/ready");
}

/** The shipped alertmanager.yml with the webhook URL, the token file and the group timings replaced. */
export async function startAlertmanager(dir: string, o: { webhook: string; tokenFile: string; groupWait: string }): Promise<Server & { port: number }> {
  const port = await freePort();
  const am = YAML.parse(fs.readFileSync(path.join(repoRoot, "manifests/prometheus/alertmanager.yml"), "utf8")) as {
    route: Record<string, unknown>;
    receivers: { webhook_configs: { url: string; http_config: { authorization: { credentials_file: string } } }[] }[];
  };
  Object.assign(am.route, { group_wait: o.groupWait, group_interval: o.groupWait, repeat_interval: "1m" });
  for (const r of am.receivers) {
    for (const w of r.webhook_configs) {
      w.url = o.webhook;
      w.http_config.authorization.credentials_file = o.tokenFile;
    }
  }
  const file = path.join(dir, "alertmanager.yml");
  fs.writeFileSync(file, YAML.stringify(am));
  const args = [`--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.path=${path.join(dir, "am")}`, "--cluster.listen-address="];
  const s = await startProcess("prometheus-alertmanager", args, `http://127.0.0.1:${port}`, "/-/ready");
  return { ...s, port };
}
