// Real Prometheus and Alertmanager configured from the RENDERED monitoring objects: rules from the PrometheusRule,
// scrape interval and path from the ServiceMonitor (targets through file_sd, rewritten as replicas come and go), and
// Alertmanager's route and webhook receiver from the AlertmanagerConfig (webhook URL mapped, bearer token from the Secret).
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import type { K8sObject } from "../../../platform/manifests/index.ts";
import { freePort, startProcess, type Server } from "../../e2e/drift/servers.ts";
import { mapUrl } from "./addresses.ts";

export interface ScrapeTarget {
  readonly address: string;
  readonly labels: Readonly<Record<string, string>>;
}

function find(objects: readonly K8sObject[], kind: string): K8sObject {
  const o = objects.find((x) => x.kind === kind);
  if (!o) throw new Error(`topology: the rendered manifests have no ${kind}`);
  return o;
}

/** file_sd target groups: one per replica, labelled as the ServiceMonitor's podTargetLabels would. */
export function writeTargets(file: string, targets: readonly ScrapeTarget[]): void {
  const groups = targets.map((t) => ({ targets: [t.address], labels: t.labels }));
  // Write-then-rename: Prometheus never reads a half-written file.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(groups));
  fs.renameSync(`${file}.tmp`, file);
}

/** The file_sd file of one ServiceMonitor's targets (the topology writes each monitor's endpoints there). */
export const targetsFileOf = (targetsDir: string, monitor: string): string => path.join(targetsDir, `${monitor}.json`);

export async function startTopologyPrometheus(dir: string, objects: readonly K8sObject[], o: { targetsDir: string; alertmanager: string }): Promise<Server> {
  fs.mkdirSync(dir, { recursive: true });
  const rule = find(objects, "PrometheusRule");
  const spec = rule.spec as { groups?: unknown } | undefined;
  const rulesFile = path.join(dir, "rules.yml");
  fs.writeFileSync(rulesFile, YAML.stringify({ groups: spec?.groups ?? [] }, { lineWidth: 0 }));
  find(objects, "ServiceMonitor");
  // One scrape job per rendered ServiceMonitor (the functions', KServe's queue-proxies'), with its interval and path.
  const monitors = objects.filter((x) => x.kind === "ServiceMonitor");
  const jobs = monitors.map((monitor) => {
    const endpoint = ((monitor.spec as { endpoints?: { interval?: string; scrapeTimeout?: string; path?: string }[] } | undefined)?.endpoints ?? [])[0] ?? {};
    const file = targetsFileOf(o.targetsDir, monitor.metadata.name);
    if (!fs.existsSync(file)) writeTargets(file, []);
    return {
      job_name: monitor.metadata.name,
      metrics_path: endpoint.path ?? "/metrics",
      scrape_interval: endpoint.interval ?? "30s",
      scrape_timeout: endpoint.scrapeTimeout ?? "10s",
      file_sd_configs: [{ files: [file], refresh_interval: "1s" }],
    };
  });
  const interval = jobs[0]?.scrape_interval ?? "30s";
  const port = await freePort();
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [rulesFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [o.alertmanager] }] }] },
    scrape_configs: jobs,
  };
  const file = path.join(dir, "prometheus.yml");
  fs.writeFileSync(file, YAML.stringify(config));
  const args = [`--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`];
  return startProcess("prometheus", args, `http://127.0.0.1:${port}`, "/-/ready");
}

/** alertmanager.yml from the AlertmanagerConfig CRD (camelCase) with the webhook URL mapped and the token in a file. */
export async function startTopologyAlertmanager(
  dir: string,
  objects: readonly K8sObject[],
  o: { mapping: Map<string, string>; secrets: Readonly<Record<string, Readonly<Record<string, string>>>> },
): Promise<Server & { port: number }> {
  fs.mkdirSync(dir, { recursive: true });
  const amc = find(objects, "AlertmanagerConfig");
  const spec = amc.spec as {
    route: { receiver: string; groupBy?: string[]; groupWait?: string; groupInterval?: string; repeatInterval?: string; matchers?: { name: string; value: string; matchType?: string }[] };
    receivers: { name: string; webhookConfigs?: { url: string; sendResolved?: boolean; maxAlerts?: number; httpConfig?: { authorization?: { type?: string; credentials?: { name: string; key: string } } } }[] }[];
  };
  const receivers = spec.receivers.map((r) => ({
    name: r.name,
    webhook_configs: (r.webhookConfigs ?? []).map((w, i) => {
      const cred = w.httpConfig?.authorization?.credentials;
      let authorization: Record<string, string> | undefined;
      if (cred) {
        const token = o.secrets[cred.name]?.[cred.key];
        if (token === undefined) throw new Error(`topology: AlertmanagerConfig needs secret ${cred.name}/${cred.key}`);
        const tokenFile = path.join(dir, `${r.name}-${i}.token`);
        fs.writeFileSync(tokenFile, token, { mode: 0o600 });
        authorization = { type: w.httpConfig?.authorization?.type ?? "Bearer", credentials_file: tokenFile };
      }
      return { url: mapUrl(o.mapping, w.url), send_resolved: w.sendResolved ?? true, max_alerts: w.maxAlerts ?? 0, ...(authorization ? { http_config: { authorization } } : {}) };
    }),
  }));
  // The operator nests an AlertmanagerConfig's route under the top-level one, whose receiver is kube-prometheus-stack's
  // "null" (a root route may not have matchers); the route's own matchers stay.
  const r = spec.route;
  const child = {
    receiver: r.receiver,
    group_by: r.groupBy ?? [],
    group_wait: r.groupWait ?? "30s",
    group_interval: r.groupInterval ?? "5m",
    repeat_interval: r.repeatInterval ?? "4h",
    matchers: (r.matchers ?? []).map((m) => `${m.name}${m.matchType ?? "="}${JSON.stringify(m.value)}`),
  };
  const route = { receiver: "null", group_by: child.group_by, routes: [child] };
  const port = await freePort();
  const file = path.join(dir, "alertmanager.yml");
  fs.writeFileSync(file, YAML.stringify({ route, receivers: [{ name: "null" }, ...receivers] }));
  const args = [`--config.file=${file}`, `--web.listen-address=127.0.0.1:${port}`, `--storage.path=${path.join(dir, "data")}`, "--cluster.listen-address="];
  const s = await startProcess("prometheus-alertmanager", args, `http://127.0.0.1:${port}`, "/-/ready");
  return { ...s, port };
}
