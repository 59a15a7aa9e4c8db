// Real Prometheus and Alertmanager for `flywheel demo --drift` (Debian prometheus, prometheus-alertmanager): the
// shipped rules and Alertmanager config with demo timings, scraping the platform and calling its webhook.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { rulesFile as renderRulesFile } from "../../../manifests/observability.ts";
import { freePort, startServerProcess, type ServerProcess } from "../../../server-process.ts";
import { DEFAULT_RULE_OPTIONS, ruleGroups } from "../../../telemetry/rules.ts";

export type Server = ServerProcess;

export const installed = (cmd: string): boolean => !spawnSync(cmd, ["--version"], { stdio: "ignore" }).error;

const start = (cmd: string, args: string[], url: string, readyPath: string): Promise<Server> => startServerProcess({ cmd, args, url, readyPath });

/** Both servers, with `for` and grouping shortened to a second so the story fits in a minute. */
export async function startMonitoring(o: { dir: string; repoRoot: string; target: string; webhook: string; token: string }): Promise<{ prometheus: Server; alertmanager: Server }> {
  // The shipped rules from their one source, with every alert's `for:` shortened (recording rules take none).
  const short = { ...DEFAULT_RULE_OPTIONS, driftFor: "1s", outlierFor: "1s", platformFor: "1s", accuracyFor: "1s" };
  const rulesFile = path.join(o.dir, "rules.yml");
  fs.writeFileSync(rulesFile, renderRulesFile(ruleGroups(short)));
  const tokenFile = path.join(o.dir, "am-token");
  fs.writeFileSync(tokenFile, o.token, { mode: 0o600 });
  const am = YAML.parse(fs.readFileSync(path.join(o.repoRoot, "manifests/prometheus/alertmanager.yml"), "utf8")) as {
    route: Record<string, unknown>;
    receivers: { webhook_configs: { url: string; http_config: { authorization: { credentials_file: string } } }[] }[];
  };
  Object.assign(am.route, { group_wait: "1s", group_interval: "1s", repeat_interval: "1h" });
  for (const r of am.receivers) {
    for (const w of r.webhook_configs) {
      w.url = o.webhook;
      w.http_config.authorization.credentials_file = tokenFile;
    }
  }
  fs.writeFileSync(path.join(o.dir, "alertmanager.yml"), YAML.stringify(am));
  const amPort = await freePort();
  const alertmanager = await start(
    "prometheus-alertmanager",
    [`--config.file=${path.join(o.dir, "alertmanager.yml")}`, `--web.listen-address=127.0.0.1:${amPort}`, `--storage.path=${path.join(o.dir, "am")}`, "--cluster.listen-address="],
    `http://127.0.0.1:${amPort}`,
    "/-/ready",
  );
  const promPort = await freePort();
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [rulesFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
    scrape_configs: [{ job_name: "flywheel", metrics_path: "/metrics", static_configs: [{ targets: [o.target] }] }],
  };
  fs.writeFileSync(path.join(o.dir, "prometheus.yml"), YAML.stringify(config));
  try {
    const prometheus = await start(
      "prometheus",
      [`--config.file=${path.join(o.dir, "prometheus.yml")}`, `--web.listen-address=127.0.0.1:${promPort}`, `--storage.tsdb.path=${path.join(o.dir, "tsdb")}`],
      `http://127.0.0.1:${promPort}`,
      "/-/ready",
    );
    return { prometheus, alertmanager };
  } catch (e) {
    await alertmanager.stop();
    throw e;
  }
}
